import datetime

from datastudio.v1 import common_pb2 as _common_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReleasePackageState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RELEASE_PACKAGE_STATE_UNSPECIFIED: _ClassVar[ReleasePackageState]
    RELEASE_PACKAGE_STATE_READY: _ClassVar[ReleasePackageState]
    RELEASE_PACKAGE_STATE_PENDING_APPROVAL: _ClassVar[ReleasePackageState]
    RELEASE_PACKAGE_STATE_DEPLOYING: _ClassVar[ReleasePackageState]
    RELEASE_PACKAGE_STATE_SUCCEEDED: _ClassVar[ReleasePackageState]
    RELEASE_PACKAGE_STATE_FAILED: _ClassVar[ReleasePackageState]
    RELEASE_PACKAGE_STATE_REJECTED: _ClassVar[ReleasePackageState]
    RELEASE_PACKAGE_STATE_CANCELLED: _ClassVar[ReleasePackageState]

class Environment(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENVIRONMENT_UNSPECIFIED: _ClassVar[Environment]
    ENVIRONMENT_LOCAL: _ClassVar[Environment]
    ENVIRONMENT_DEVELOPMENT: _ClassVar[Environment]
    ENVIRONMENT_PRODUCTION: _ClassVar[Environment]

class CheckState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHECK_STATE_UNSPECIFIED: _ClassVar[CheckState]
    CHECK_STATE_RUNNING: _ClassVar[CheckState]
    CHECK_STATE_FAILED: _ClassVar[CheckState]

class JobStartState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_START_STATE_UNSPECIFIED: _ClassVar[JobStartState]
    JOB_START_STATE_SUCCEEDED: _ClassVar[JobStartState]
    JOB_START_STATE_FAILED: _ClassVar[JobStartState]

class FileKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILE_KIND_UNSPECIFIED: _ClassVar[FileKind]
    FILE_KIND_SCRIPT: _ClassVar[FileKind]
    FILE_KIND_JOB: _ClassVar[FileKind]
    FILE_KIND_RESOURCE: _ClassVar[FileKind]
    FILE_KIND_FUNCTION: _ClassVar[FileKind]

class StartupMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STARTUP_MODE_UNSPECIFIED: _ClassVar[StartupMode]
    STARTUP_MODE_DEPLOY_ONLY: _ClassVar[StartupMode]
    STARTUP_MODE_DEPLOY_AND_START: _ClassVar[StartupMode]

class DeploymentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPLOYMENT_STATE_UNSPECIFIED: _ClassVar[DeploymentState]
    DEPLOYMENT_STATE_PENDING: _ClassVar[DeploymentState]
    DEPLOYMENT_STATE_RUNNING: _ClassVar[DeploymentState]
    DEPLOYMENT_STATE_SUCCEEDED: _ClassVar[DeploymentState]
    DEPLOYMENT_STATE_FAILED: _ClassVar[DeploymentState]
    DEPLOYMENT_STATE_CANCELLED: _ClassVar[DeploymentState]
RELEASE_PACKAGE_STATE_UNSPECIFIED: ReleasePackageState
RELEASE_PACKAGE_STATE_READY: ReleasePackageState
RELEASE_PACKAGE_STATE_PENDING_APPROVAL: ReleasePackageState
RELEASE_PACKAGE_STATE_DEPLOYING: ReleasePackageState
RELEASE_PACKAGE_STATE_SUCCEEDED: ReleasePackageState
RELEASE_PACKAGE_STATE_FAILED: ReleasePackageState
RELEASE_PACKAGE_STATE_REJECTED: ReleasePackageState
RELEASE_PACKAGE_STATE_CANCELLED: ReleasePackageState
ENVIRONMENT_UNSPECIFIED: Environment
ENVIRONMENT_LOCAL: Environment
ENVIRONMENT_DEVELOPMENT: Environment
ENVIRONMENT_PRODUCTION: Environment
CHECK_STATE_UNSPECIFIED: CheckState
CHECK_STATE_RUNNING: CheckState
CHECK_STATE_FAILED: CheckState
JOB_START_STATE_UNSPECIFIED: JobStartState
JOB_START_STATE_SUCCEEDED: JobStartState
JOB_START_STATE_FAILED: JobStartState
FILE_KIND_UNSPECIFIED: FileKind
FILE_KIND_SCRIPT: FileKind
FILE_KIND_JOB: FileKind
FILE_KIND_RESOURCE: FileKind
FILE_KIND_FUNCTION: FileKind
STARTUP_MODE_UNSPECIFIED: StartupMode
STARTUP_MODE_DEPLOY_ONLY: StartupMode
STARTUP_MODE_DEPLOY_AND_START: StartupMode
DEPLOYMENT_STATE_UNSPECIFIED: DeploymentState
DEPLOYMENT_STATE_PENDING: DeploymentState
DEPLOYMENT_STATE_RUNNING: DeploymentState
DEPLOYMENT_STATE_SUCCEEDED: DeploymentState
DEPLOYMENT_STATE_FAILED: DeploymentState
DEPLOYMENT_STATE_CANCELLED: DeploymentState

class ReleasePackage(_message.Message):
    __slots__ = ("name", "vendor", "display_name", "state", "creator", "executor", "create_time", "execute_time", "error_message", "items", "approvers", "target_environment", "source_environment", "deleted", "check_state", "stages", "vendor_record")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    EXECUTOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXECUTE_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    APPROVERS_FIELD_NUMBER: _ClassVar[int]
    TARGET_ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    CHECK_STATE_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    VENDOR_RECORD_FIELD_NUMBER: _ClassVar[int]
    name: str
    vendor: _common_pb2.Vendor
    display_name: str
    state: ReleasePackageState
    creator: _common_pb2.User
    executor: _common_pb2.User
    create_time: _timestamp_pb2.Timestamp
    execute_time: _timestamp_pb2.Timestamp
    error_message: str
    items: _containers.RepeatedCompositeFieldContainer[ReleasePackageItem]
    approvers: _containers.RepeatedCompositeFieldContainer[_common_pb2.User]
    target_environment: Environment
    source_environment: Environment
    deleted: bool
    check_state: CheckState
    stages: _containers.RepeatedCompositeFieldContainer[PipelineStage]
    vendor_record: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., vendor: _Optional[_Union[_common_pb2.Vendor, str]] = ..., display_name: _Optional[str] = ..., state: _Optional[_Union[ReleasePackageState, str]] = ..., creator: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., executor: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., execute_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error_message: _Optional[str] = ..., items: _Optional[_Iterable[_Union[ReleasePackageItem, _Mapping]]] = ..., approvers: _Optional[_Iterable[_Union[_common_pb2.User, _Mapping]]] = ..., target_environment: _Optional[_Union[Environment, str]] = ..., source_environment: _Optional[_Union[Environment, str]] = ..., deleted: _Optional[bool] = ..., check_state: _Optional[_Union[CheckState, str]] = ..., stages: _Optional[_Iterable[_Union[PipelineStage, _Mapping]]] = ..., vendor_record: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ReleasePackageItem(_message.Message):
    __slots__ = ("file", "file_display_name", "version", "deployed_version", "state", "change_type", "submitter", "submit_time", "job_start_state", "kind")
    FILE_FIELD_NUMBER: _ClassVar[int]
    FILE_DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DEPLOYED_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBMITTER_FIELD_NUMBER: _ClassVar[int]
    SUBMIT_TIME_FIELD_NUMBER: _ClassVar[int]
    JOB_START_STATE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    file: str
    file_display_name: str
    version: int
    deployed_version: int
    state: ReleasePackageState
    change_type: _common_pb2.ChangeType
    submitter: _common_pb2.User
    submit_time: _timestamp_pb2.Timestamp
    job_start_state: JobStartState
    kind: FileKind
    def __init__(self, file: _Optional[str] = ..., file_display_name: _Optional[str] = ..., version: _Optional[int] = ..., deployed_version: _Optional[int] = ..., state: _Optional[_Union[ReleasePackageState, str]] = ..., change_type: _Optional[_Union[_common_pb2.ChangeType, str]] = ..., submitter: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., submit_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., job_start_state: _Optional[_Union[JobStartState, str]] = ..., kind: _Optional[_Union[FileKind, str]] = ...) -> None: ...

class PipelineStage(_message.Message):
    __slots__ = ("code", "step", "display_name", "type", "state", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    step: int
    display_name: str
    type: str
    state: ReleasePackageState
    message: str
    def __init__(self, code: _Optional[str] = ..., step: _Optional[int] = ..., display_name: _Optional[str] = ..., type: _Optional[str] = ..., state: _Optional[_Union[ReleasePackageState, str]] = ..., message: _Optional[str] = ...) -> None: ...

class ListReleasePackagesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "keyword", "states", "creators", "executors", "create_time", "execute_time", "order_by", "view")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    KEYWORD_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    CREATORS_FIELD_NUMBER: _ClassVar[int]
    EXECUTORS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXECUTE_TIME_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    keyword: str
    states: _containers.RepeatedScalarFieldContainer[ReleasePackageState]
    creators: _containers.RepeatedCompositeFieldContainer[_common_pb2.UserRef]
    executors: _containers.RepeatedCompositeFieldContainer[_common_pb2.UserRef]
    create_time: _common_pb2.TimeRange
    execute_time: _common_pb2.TimeRange
    order_by: str
    view: _common_pb2.View
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., keyword: _Optional[str] = ..., states: _Optional[_Iterable[_Union[ReleasePackageState, str]]] = ..., creators: _Optional[_Iterable[_Union[_common_pb2.UserRef, _Mapping]]] = ..., executors: _Optional[_Iterable[_Union[_common_pb2.UserRef, _Mapping]]] = ..., create_time: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., execute_time: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., order_by: _Optional[str] = ..., view: _Optional[_Union[_common_pb2.View, str]] = ...) -> None: ...

class ListReleasePackagesResponse(_message.Message):
    __slots__ = ("release_packages", "next_page_token", "total_size")
    RELEASE_PACKAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    release_packages: _containers.RepeatedCompositeFieldContainer[ReleasePackage]
    next_page_token: str
    total_size: int
    def __init__(self, release_packages: _Optional[_Iterable[_Union[ReleasePackage, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetReleasePackageRequest(_message.Message):
    __slots__ = ("name", "view")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    view: _common_pb2.View
    def __init__(self, name: _Optional[str] = ..., view: _Optional[_Union[_common_pb2.View, str]] = ...) -> None: ...

class GetReleasePackageResponse(_message.Message):
    __slots__ = ("release_package",)
    RELEASE_PACKAGE_FIELD_NUMBER: _ClassVar[int]
    release_package: ReleasePackage
    def __init__(self, release_package: _Optional[_Union[ReleasePackage, _Mapping]] = ...) -> None: ...

class DeployReleasePackagesRequest(_message.Message):
    __slots__ = ("parent", "release_packages", "startup_mode", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    RELEASE_PACKAGES_FIELD_NUMBER: _ClassVar[int]
    STARTUP_MODE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    release_packages: _containers.RepeatedScalarFieldContainer[str]
    startup_mode: StartupMode
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., release_packages: _Optional[_Iterable[str]] = ..., startup_mode: _Optional[_Union[StartupMode, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeployReleasePackagesResponse(_message.Message):
    __slots__ = ("deployments",)
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    deployments: _containers.RepeatedCompositeFieldContainer[Deployment]
    def __init__(self, deployments: _Optional[_Iterable[_Union[Deployment, _Mapping]]] = ...) -> None: ...

class DeployFilesRequest(_message.Message):
    __slots__ = ("parent", "files", "comment", "startup_mode", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    STARTUP_MODE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    files: _containers.RepeatedScalarFieldContainer[str]
    comment: str
    startup_mode: StartupMode
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., files: _Optional[_Iterable[str]] = ..., comment: _Optional[str] = ..., startup_mode: _Optional[_Union[StartupMode, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeployFilesResponse(_message.Message):
    __slots__ = ("deployments",)
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    deployments: _containers.RepeatedCompositeFieldContainer[Deployment]
    def __init__(self, deployments: _Optional[_Iterable[_Union[Deployment, _Mapping]]] = ...) -> None: ...

class Deployment(_message.Message):
    __slots__ = ("name", "vendor", "state", "release_package", "files", "request_id", "create_time", "update_time", "error_message", "startup_mode", "vendor_task_id", "vendor_subtask_count", "vendor_record", "requested_by")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RELEASE_PACKAGE_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STARTUP_MODE_FIELD_NUMBER: _ClassVar[int]
    VENDOR_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    VENDOR_SUBTASK_COUNT_FIELD_NUMBER: _ClassVar[int]
    VENDOR_RECORD_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_FIELD_NUMBER: _ClassVar[int]
    name: str
    vendor: _common_pb2.Vendor
    state: DeploymentState
    release_package: str
    files: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    error_message: str
    startup_mode: StartupMode
    vendor_task_id: str
    vendor_subtask_count: int
    vendor_record: _struct_pb2.Struct
    requested_by: str
    def __init__(self, name: _Optional[str] = ..., vendor: _Optional[_Union[_common_pb2.Vendor, str]] = ..., state: _Optional[_Union[DeploymentState, str]] = ..., release_package: _Optional[str] = ..., files: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error_message: _Optional[str] = ..., startup_mode: _Optional[_Union[StartupMode, str]] = ..., vendor_task_id: _Optional[str] = ..., vendor_subtask_count: _Optional[int] = ..., vendor_record: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., requested_by: _Optional[str] = ...) -> None: ...

class GetDeploymentRequest(_message.Message):
    __slots__ = ("name", "view")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    view: _common_pb2.View
    def __init__(self, name: _Optional[str] = ..., view: _Optional[_Union[_common_pb2.View, str]] = ...) -> None: ...

class GetDeploymentResponse(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...

class CancelDeploymentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CancelDeploymentResponse(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...

class WatchDeploymentRequest(_message.Message):
    __slots__ = ("name", "view")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    view: _common_pb2.View
    def __init__(self, name: _Optional[str] = ..., view: _Optional[_Union[_common_pb2.View, str]] = ...) -> None: ...

class WatchDeploymentResponse(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...
