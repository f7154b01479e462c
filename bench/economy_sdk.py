"""The quota-economy jobs done directly with the official DataWorks Python SDK.

Run by the quota-economy bench (bench/economy.rs), which counts the vendor
calls in the emulator's request log before and after each job:

* ``list``: ``--n`` threads ask at the same moment for the same page of
  deployment packages (ListDeploymentPackages, page of 20);
* ``versions``: ``--n`` GetFileVersion calls over ``--distinct`` versions
  (version 1 of files 100001, 100002, ...), in rounds.

Exits 1 when a call failed (the message on stderr).
"""

from __future__ import annotations

import argparse
import sys
import threading

from python_compare import dataworks_client
from alibabacloud_dataworks_public20240518 import models as dw_models


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    p.add_argument("job", choices=["list", "versions"])
    p.add_argument("--alibaba-url", required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--distinct", type=int, default=10)
    args = p.parse_args()
    args.alibaba_access_key, args.alibaba_secret, args.alibaba_region = "demo-ak", "demo-sk", "cn-hangzhou"
    client = dataworks_client(args)
    errors: list[str] = []
    if args.job == "list":
        start = threading.Barrier(args.n)

        def one() -> None:
            request = dw_models.ListDeploymentPackagesRequest(project_id=10003, page_number=1, page_size=20)
            start.wait()
            try:
                client.list_deployment_packages(request)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(str(e))

        threads = [threading.Thread(target=one) for _ in range(args.n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for i in range(args.n):
            file_id = 100001 + i % args.distinct
            request = dw_models.GetFileVersionRequest(project_id=10003, file_id=file_id, file_version=1)
            body = client.get_file_version(request).body
            if not body.success:
                errors.append(f"GetFileVersion {file_id}: {body.error_code}")
    if errors:
        print(errors[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
