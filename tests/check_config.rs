//! `check-config` names every problem with its path and exits non-zero.

mod common;

use std::process::Command;

fn run(yaml: &str, dir: &std::path::Path) -> (i32, String) {
    let file = dir.join("config.yaml");
    std::fs::write(&file, yaml).unwrap();
    let out = Command::new(common::binary())
        .arg("check-config")
        .arg(&file)
        .env_remove("ALI_SK_UNSET_FOR_TEST")
        .output()
        .expect("run check-config");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_good_config_passes() {
    let dir = common::secrets_dir(&[("ali_ak", "a"), ("ali_sk", "b"), ("hw_ak", "c"), ("hw_sk", "d")]);
    let (code, out) = run(&common::two_vendor_yaml(dir.path()), dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK (2 workspace(s))"), "{out}");
}

#[test]
fn broken_configs_list_each_problem_with_its_path() {
    let dir = common::secrets_dir(&[("ak", "a"), ("empty", "  \n")]);
    let d = dir.path().display();
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!(
                r#"
workspaces:
  prod:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    credentials:
      access_key_id: {{ file: {d}/ak }}
      access_key_secret: {{ env: ALI_SK_UNSET_FOR_TEST }}
"#
            ),
            vec!["workspaces.prod.credentials.access_key_secret: env var ALI_SK_UNSET_FOR_TEST is not set"],
        ),
        (
            format!(
                r#"
workspaces:
  prod:
    vendor: alibaba
    region: cn-hangzhou
    project_id: abc
    credentials:
      access_key_id: {{ file: {d}/missing }}
      access_key_secret: {{ file: {d}/empty }}
"#
            ),
            vec![
                "workspaces.prod.project_id: \"abc\" is not a numeric DataWorks ProjectId",
                "workspaces.prod.credentials.access_key_id: file",
                "workspaces.prod.credentials.access_key_secret: file",
                "is empty",
            ],
        ),
        (
            format!(
                r#"
workspaces:
  hw:
    vendor: huawei
    region: cn-north-4
    project_id: "123"
    approvers: [ops-li, "", ops-li, " bob"]
    endpoints: {{ factory: "ftp://x" }}
    credentials:
      access_key_id: plain-text-key
      secret_access_key: {{ file: {d}/ak }}
"#
            ),
            vec![
                "workspaces.hw.project_id: \"123\" is not a 32-hex-digit IAM project id",
                "workspaces.hw.workspace_id: the DataArts workspace id is required",
                "workspaces.hw.endpoints.factory: \"ftp://x\" must start with https:// or http://",
                "workspaces.hw.credentials.access_key_id: inline secrets are not allowed",
                "workspaces.hw.approvers[1]: must be a user name or user id, not empty",
                "workspaces.hw.approvers[2]: \"ops-li\" is listed twice",
                "workspaces.hw.approvers[3]: \" bob\" has leading or trailing spaces",
            ],
        ),
        (
            format!(
                r#"
workspaces:
  legacy:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    pipeline: {{ run_until: PROD }}
    credentials:
      access_key_id: {{ file: {d}/ak }}
      access_key_secret: {{ file: {d}/ak }}
  pipe:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    flavour: pipeline
    pipeline: {{ run_until: "dev check" }}
    credentials:
      access_key_id: {{ file: {d}/ak }}
      access_key_secret: {{ file: {d}/ak }}
"#
            ),
            vec![
                "workspaces.legacy.pipeline.run_until: only the pipeline flavour has stages",
                "workspaces.pipe.pipeline.run_until: \"dev check\" is not a stage code",
            ],
        ),
        ("workspaces: {}\n".into(), vec!["workspaces: no workspace is configured"]),
        (
            format!(
                r#"
server:
  grpc_listen: 0.0.0.0:1
  admin_listen: 0.0.0.0:1
limits:
  replicas: 0
  daily_budget_zone: Mars/Olympus
workspaces:
  Bad_Name:
    vendor: alibaba
    region: "Hang Zhou"
    project_identifier: dw
    rate_limits: {{ ListFiles: -1 }}
    daily_budget: 0
    credentials:
      access_key_id: {{ file: {d}/ak }}
"#
            ),
            vec![
                "server.admin_listen: must differ from server.grpc_listen",
                "limits.replicas: must be at least 1",
                "limits.daily_budget_zone: unknown time zone",
                "workspaces.Bad_Name: workspace names are",
                "workspaces.Bad_Name.region: \"Hang Zhou\" is not a region id",
                "workspaces.Bad_Name.rate_limits.ListFiles: must be a positive number",
                "workspaces.Bad_Name.daily_budget: must be at least 1",
                "workspaces.Bad_Name.credentials.access_key_secret: is required",
            ],
        ),
        (
            "server:\n  grpc_listn: 1\n".into(),
            vec!["server.grpc_listn: unknown field: found `grpc_listn`", "expected `one of `grpc_listen`"],
        ),
        (
            "workspaces:\n  a:\n    vendor: oracle\n    region: x\n    credentials: {}\n".into(),
            vec!["workspaces.a.vendor: unknown variant: found `oracle`"],
        ),
        ("server:\n  shutdown_grace: soon\n".into(), vec!["server.shutdown_grace"]),
    ];
    for (yaml, expected) in cases {
        let (code, out) = run(&yaml, dir.path());
        assert_ne!(code, 0, "{yaml}\n{out}");
        for e in expected {
            assert!(out.contains(e), "expected {e:?} in:\n{out}");
        }
        assert!(!out.contains("plain-text-key"), "a secret leaked:\n{out}");
    }
}

#[test]
fn a_setting_of_the_other_vendor_is_a_load_error_naming_it() {
    let dir = common::secrets_dir(&[("ali_ak", "a"), ("ali_sk", "b"), ("hw_ak", "c"), ("hw_sk", "d")]);
    let base = common::two_vendor_yaml(dir.path());
    for (before, line, expected) in [
        (
            "    vendor: alibaba",
            "    workspace_id: ws-1",
            "workspaces.dw-test: workspace_id: unknown field: found `workspace_id`",
        ),
        (
            "    vendor: alibaba",
            "    endpoints: { dlf: \"http://x\" }",
            "workspaces.dw-test: endpoints.dlf: unknown field",
        ),
        ("    vendor: huawei", "    project_identifier: dw", "workspaces.da-test: project_identifier: unknown field"),
        ("    vendor: huawei", "    vpc: true", "workspaces.da-test: vpc: unknown field: found `vpc`"),
        ("    vendor: huawei", "    edition: basic", "workspaces.da-test: edition: unknown field"),
        (
            "      secret_access_key:",
            "      security_token: { env: HW_TOKEN }",
            "workspaces.da-test: credentials.security_token: unknown field: found `security_token`",
        ),
    ] {
        let yaml = base.replacen(before, &format!("{line}\n{before}"), 1);
        assert_ne!(yaml, base);
        let (code, out) = run(&yaml, dir.path());
        assert_ne!(code, 0, "{yaml}\n{out}");
        assert!(out.contains(expected), "expected {expected:?} in:\n{out}");
    }
}

#[test]
fn a_rate_limit_names_an_api_of_the_workspace_vendor() {
    let dir = common::secrets_dir(&[("ali_ak", "a"), ("ali_sk", "b"), ("hw_ak", "c"), ("hw_sk", "d")]);
    let base = common::two_vendor_yaml(dir.path());
    let limits = |ali: &str, hw: &str| {
        base.replacen("  dw-test:\n", &format!("  dw-test:\n    rate_limits: {ali}\n"), 1).replacen(
            "  da-test:\n",
            &format!("  da-test:\n    rate_limits: {hw}\n"),
            1,
        )
    };
    let (code, out) = run(&limits("{ default: 4, ListFiles: 2 }", "{ default: 4, scripts.list: 2 }"), dir.path());
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&limits("{ scripts.list: 2 }", "{ ListFiles: 2 }"), dir.path());
    assert_ne!(code, 0);
    for expected in [
        "workspaces.dw-test.rate_limits.scripts.list: is not an API of this vendor: use default or one of ListDeploymentPackages,",
        "workspaces.da-test.rate_limits.ListFiles: is not an API of this vendor: use default or one of release-packages.list,",
    ] {
        assert!(out.contains(expected), "expected {expected:?} in:\n{out}");
    }
}

#[test]
fn the_redis_backend_needs_a_usable_url_and_never_shows_it() {
    let dir = common::secrets_dir(&[
        ("ali_ak", "a"),
        ("ali_sk", "b"),
        ("hw_ak", "c"),
        ("hw_sk", "d"),
        ("good", "rediss://:pa55word@redis.data:6380/0"),
        ("http", "http://:pa55word@redis.data:6379"),
        ("port", "redis://:pa55word@redis.data:notaport"),
    ]);
    let d = dir.path().display().to_string();
    let base = common::two_vendor_yaml(dir.path());
    let with = |limits: &str| format!("{base}\nlimits:\n{limits}\n");
    let (code, out) = run(&with("  backend: redis"), dir.path());
    assert_ne!(code, 0);
    assert!(out.contains("limits.redis: limits.backend is redis: set limits.redis.url"), "{out}");
    let good = format!(
        "  backend: redis\n  replicas: 3\n  redis:\n    url: {{ file: {d}/good }}\n    failure_policy: fail_local"
    );
    let (code, out) = run(&with(&good), dir.path());
    assert_eq!(code, 0, "{out}");
    for (file, problem) in [
        ("http", "limits.redis.url: must start with redis:// or rediss://"),
        ("port", "limits.redis.url: is not a valid Redis URL"),
    ] {
        let bad = format!("  backend: redis\n  redis:\n    url: {{ file: {d}/{file} }}\n    key_prefix: \"a b\"");
        let (code, out) = run(&with(&bad), dir.path());
        assert_ne!(code, 0);
        assert!(out.contains(problem), "{out}");
        assert!(out.contains("limits.redis.key_prefix: must be 1-64 characters"), "{out}");
        assert!(!out.contains("pa55word"), "the URL's password is never shown: {out}");
    }
    // A poll must end well within the lease renewed before it.
    for lease in ["500ms", "1s", "10m"] {
        let bad = format!("  backend: redis\n  redis:\n    url: {{ file: {d}/good }}\n    deployment_lease: {lease}");
        let (code, out) = run(&with(&bad), dir.path());
        assert_ne!(code, 0, "{lease}");
        assert!(
            out.contains("limits.redis.deployment_lease: must be at least 1s and 4 times limits.redis.timeout"),
            "{out}"
        );
    }
    let short = format!(
        "  backend: redis\n  redis:\n    url: {{ file: {d}/good }}\n    timeout: 250ms\n    deployment_lease: 1s"
    );
    let (code, out) = run(&with(&short), dir.path());
    assert_eq!(code, 0, "{out}");
    let inline = "  backend: redis\n  redis:\n    url: redis://:pa55word@h:6379\n    failure_policy: fail_open";
    let (code, out) = run(&with(inline), dir.path());
    assert_ne!(code, 0);
    assert!(!out.contains("pa55word"), "{out}");
}

#[test]
fn deploy_records_need_a_usable_state_dir_a_long_ttl_and_a_known_damage_policy() {
    let dir = common::secrets_dir(&[("ali_ak", "a"), ("ali_sk", "b"), ("hw_ak", "c"), ("hw_sk", "d"), ("file", "")]);
    let d = dir.path().display().to_string();
    let base = common::two_vendor_yaml(dir.path());
    let (code, out) = run(&format!("{base}limits: {{ idempotency_ttl: 59m }}\n"), dir.path());
    assert_ne!(code, 0);
    assert!(
        out.contains("limits.idempotency_ttl: must be at least 1h: a deploy retried after its record is forgotten"),
        "{out}"
    );
    for state_dir in [format!("{d}/file"), format!("{d}/file/below")] {
        let yaml = base.replace(&format!("state_dir: {d}/state"), &format!("state_dir: {state_dir}"));
        let (code, out) = run(&yaml, dir.path());
        assert_ne!(code, 0, "{state_dir}");
        assert!(out.contains("server.state_dir: ") && out.contains("is not a directory"), "{out}");
    }
    let (code, out) =
        run(&format!("{base}state: {{ on_damage: quarantine }}\nlimits: {{ idempotency_ttl: 1h }}\n"), dir.path());
    assert_eq!(code, 0, "a state_dir still to be created is fine: {out}");
    let (code, out) = run(&format!("{base}state: {{ on_damage: ignore }}\n"), dir.path());
    assert_ne!(code, 0);
    assert!(out.contains("state.on_damage: unknown variant: found `ignore`"), "{out}");
}

#[test]
fn keyless_credentials_take_the_injected_variables_and_name_what_is_missing() {
    let dir = common::secrets_dir(&[("token", "eyJhbGciOi.header.sig"), ("ak", "a"), ("sk", "b")]);
    let d = dir.path().display();
    let file = dir.path().join("config.yaml");
    let check = |yaml: &str, env: &[(&str, &str)]| {
        std::fs::write(&file, yaml).unwrap();
        let mut cmd = Command::new(common::binary());
        cmd.arg("check-config").arg(&file);
        for var in [
            "ALIBABA_CLOUD_ROLE_ARN",
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
            "HUAWEICLOUD_SDK_IDP_ID",
            "HUAWEICLOUD_SDK_ID_TOKEN_FILE",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        let out = cmd.output().expect("run check-config");
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let yaml = |ali: &str, hw: &str| {
        format!(
            r#"
workspaces:
  dw:
    vendor: alibaba
    region: cn-hangzhou
    project_id: 10003
    credentials:
      {ali}
  da:
    vendor: huawei
    region: cn-north-4
    project_id: b384b9e9ab9b4ee8994c8633aabc9505
    workspace_id: ws-1234
    credentials:
      {hw}
"#
        )
    };
    let bare = yaml("rrsa: {}", "workload_identity: {}");

    // Nothing set: every setting named, with the variable it defaults from.
    let (code, out) = check(&bare, &[]);
    assert_ne!(code, 0, "{out}");
    for want in [
        "workspaces.dw.credentials.rrsa.role_arn: is not set, and neither is ALIBABA_CLOUD_ROLE_ARN",
        "workspaces.dw.credentials.rrsa.oidc_provider_arn: is not set, and neither is ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
        "workspaces.dw.credentials.rrsa.token_file: is not set, and neither is ALIBABA_CLOUD_OIDC_TOKEN_FILE",
        "workspaces.da.credentials.workload_identity.idp_id: is not set, and neither is HUAWEICLOUD_SDK_IDP_ID",
        "workspaces.da.credentials.workload_identity.token_file: is not set, and neither is HUAWEICLOUD_SDK_ID_TOKEN_FILE",
    ] {
        assert!(out.contains(want), "{want:?} in {out}");
    }

    // What ACK's webhook and the CCE pod spec inject is enough.
    let token = format!("{d}/token");
    let injected = [
        ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1000000000000001:role/dsgw"),
        ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "acs:ram::1000000000000001:oidc-provider/ack-rrsa-c1"),
        ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", token.as_str()),
        ("HUAWEICLOUD_SDK_IDP_ID", "workload_identity"),
        ("HUAWEICLOUD_SDK_ID_TOKEN_FILE", token.as_str()),
    ];
    let (code, out) = check(&bare, &injected);
    assert_eq!(code, 0, "{out}");

    // Shapes, ranges, a token file that is not there, two kinds of credentials.
    let bad = yaml(
        &format!(
            "access_key_id: {{ file: {d}/ak }}\n      rrsa: {{ role_arn: \"acs:ram::x:role/r\", oidc_provider_arn: \"acs:ram::1:role/r\", token_file: {d}/missing, session_name: \"a b\", duration: 5m }}"
        ),
        &format!("workload_identity: {{ idp_id: idp, token_file: {d}/token, duration: 1h }}"),
    );
    let (code, out) = check(&bad, &[]);
    assert_ne!(code, 0, "{out}");
    for want in [
        "workspaces.dw.credentials: use either access keys or rrsa, not both",
        "workspaces.dw.credentials.rrsa.role_arn: \"acs:ram::x:role/r\" is not an ARN like acs:ram::<account id>:role/<name>",
        "workspaces.dw.credentials.rrsa.oidc_provider_arn: \"acs:ram::1:role/r\" is not an ARN",
        "workspaces.dw.credentials.rrsa.session_name:",
        "workspaces.dw.credentials.rrsa.duration: must be between 15m and 12h",
        "workspaces.da.credentials.workload_identity.duration: applies to sign_with: temporary_keys only",
    ] {
        assert!(out.contains(want), "{want:?} in {out}");
    }
    let missing = yaml(
        &format!(
            "rrsa: {{ role_arn: \"acs:ram::1:role/r\", oidc_provider_arn: \"acs:ram::1:oidc-provider/p\", token_file: {d}/missing }}"
        ),
        &format!(
            "workload_identity: {{ idp_id: idp, token_file: {d}/token, sign_with: temporary_keys, duration: 25h }}"
        ),
    );
    let (code, out) = check(&missing, &[]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains(&format!("workspaces.dw.credentials.rrsa.token_file: file {d}/missing cannot be read")),
        "{out}"
    );
    assert!(out.contains("workspaces.da.credentials.workload_identity.duration: must be between 15m and 24h"), "{out}");
    assert!(!out.contains("eyJhbGciOi"), "the token is never shown");

    let instance = yaml("rrsa: {}\n      instance_role: { role_name: \"a role\" }", "workload_identity: {}");
    let (code, out) = check(&instance, &injected);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("workspaces.dw.credentials: use one of access keys, rrsa or instance_role"), "{out}");
    assert!(
        out.contains("workspaces.dw.credentials.instance_role.role_name: \"a role\" is not a RAM role name"),
        "{out}"
    );
    let (code, out) = check(&yaml("instance_role: {}", "workload_identity: {}"), &injected);
    assert_eq!(code, 0, "{out}");
}

fn check_with_env(yaml: &str, dir: &std::path::Path, env: &[(&str, &str)]) -> (i32, String) {
    let file = dir.join("config.yaml");
    std::fs::write(&file, yaml).unwrap();
    let mut cmd = Command::new(common::binary());
    cmd.arg("check-config").arg(&file);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run check-config");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// examples/config.yaml passes with its secrets in place (the files under
/// a temp dir) and its variables set, DSGW_EXAMPLE_PAGE_TOKEN_KEY included.
#[test]
fn the_example_config_passes_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir_all(secrets.join("dw-prod")).unwrap();
    std::fs::write(secrets.join("dw-prod/access_key_id"), "ak").unwrap();
    std::fs::write(secrets.join("dw-prod/access_key_secret"), "sk").unwrap();
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/config.yaml")).unwrap();
    let yaml = example
        .replace("/var/run/secrets/datastudio-gateway", &secrets.display().to_string())
        .replace("/var/lib/datastudio-gateway", &dir.path().join("state").display().to_string());
    let env =
        [("DSGW_EXAMPLE_PAGE_TOKEN_KEY", "k"), ("DA_PROD_AK", "ak"), ("DA_PROD_SK", "sk"), ("DSGW_BIN", "/usr/bin/x")];
    let (code, out) = check_with_env(&yaml, dir.path(), &env);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn config_mistakes_do_not_pass_silently() {
    let dir = common::secrets_dir(&[("ali_ak", "a"), ("ali_sk", "b"), ("hw_ak", "c"), ("hw_sk", "d")]);
    let yaml = common::two_vendor_yaml(dir.path());
    // A repeated key.
    let repeated = yaml.replace("  shutdown_grace: 5s\n", "  shutdown_grace: 5s\n  shutdown_grace: 6s\n");
    let (code, out) = check_with_env(&repeated, dir.path(), &[]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("duplicate entry with key \"shutdown_grace\""), "{out}");
    // An override's error names its variable.
    let (code, out) = check_with_env(&yaml, dir.path(), &[("DSGW_SERVER__SHUTDOWN_GRACE", "soon")]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("server.shutdown_grace") && out.contains("DSGW_SERVER__SHUTDOWN_GRACE"), "{out}");
    // An override reaches a workspace whose name has a hyphen.
    let (code, out) = check_with_env(&yaml, dir.path(), &[("DSGW_WORKSPACES__DW_TEST__REGION", "NOT-A-REGION")]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("workspaces.dw-test.region"), "the override reached dw-test: {out}");
    // DSGW_ variables that are not overrides are not read.
    let (code, out) = check_with_env(&yaml, dir.path(), &[("DSGW_BIN", "/usr/local/bin/x")]);
    assert_eq!(code, 0, "{out}");
    // New server limits are checked.
    let bad =
        yaml.replace("  shutdown_grace: 5s\n", "  shutdown_grace: 5s\n  max_in_flight: 0\n  max_metadata_bytes: 10\n");
    let (code, out) = check_with_env(&bad, dir.path(), &[]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("server.max_in_flight: must be at least 1"), "{out}");
    assert!(out.contains("server.max_metadata_bytes: must be at least 1024"), "{out}");
}

#[test]
fn the_cache_is_bounded_and_its_age_checked() {
    let dir = common::secrets_dir(&[("ali_ak", "a"), ("ali_sk", "b"), ("hw_ak", "c"), ("hw_sk", "d")]);
    let base = common::two_vendor_yaml(dir.path());
    let with = |cache: &str| format!("{base}limits:\n  cache: {cache}\n");
    for good in ["{ max_bytes: 0 }", "{ max_bytes: 0, max_age: 0s }", "{ max_bytes: 1048576, max_age: 1s }", "{}"] {
        let (code, out) = run(&with(good), dir.path());
        assert_eq!(code, 0, "{good}: {out}");
    }
    let (code, out) = run(&with("{ max_bytes: 4294967297 }"), dir.path());
    assert_ne!(code, 0);
    assert!(out.contains("limits.cache.max_bytes: must be at most 4294967296 (4 GiB)"), "{out}");
    for age in ["0s", "500ms", "25h"] {
        let (code, out) = run(&with(&format!("{{ max_bytes: 1024, max_age: {age} }}")), dir.path());
        assert_ne!(code, 0, "{age}");
        assert!(out.contains("limits.cache.max_age: must be at least 1s and at most 24h"), "{out}");
    }
    let (code, out) = run(&with("{ max_entries: 5 }"), dir.path());
    assert_ne!(code, 0);
    assert!(out.contains("max_entries"), "{out}");
}
