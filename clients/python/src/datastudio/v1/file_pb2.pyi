import datetime

from datastudio.v1 import common_pb2 as _common_pb2
from datastudio.v1 import release_pb2 as _release_pb2
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

class UseType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USE_TYPE_UNSPECIFIED: _ClassVar[UseType]
    USE_TYPE_NORMAL: _ClassVar[UseType]
    USE_TYPE_MANUAL: _ClassVar[UseType]
    USE_TYPE_MANUAL_BIZ: _ClassVar[UseType]
    USE_TYPE_SKIP: _ClassVar[UseType]
    USE_TYPE_ADHOC_QUERY: _ClassVar[UseType]
    USE_TYPE_COMPONENT: _ClassVar[UseType]

class CommitStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COMMIT_STATUS_UNSPECIFIED: _ClassVar[CommitStatus]
    COMMIT_STATUS_UNCOMMITTED: _ClassVar[CommitStatus]
    COMMIT_STATUS_COMMITTED: _ClassVar[CommitStatus]

class FileVersionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILE_VERSION_STATE_UNSPECIFIED: _ClassVar[FileVersionState]
    FILE_VERSION_STATE_COMMITTING: _ClassVar[FileVersionState]
    FILE_VERSION_STATE_COMMITTED: _ClassVar[FileVersionState]
    FILE_VERSION_STATE_PACKAGED: _ClassVar[FileVersionState]
    FILE_VERSION_STATE_DEPLOYING: _ClassVar[FileVersionState]
    FILE_VERSION_STATE_DEPLOYED: _ClassVar[FileVersionState]
    FILE_VERSION_STATE_CANCELLED: _ClassVar[FileVersionState]
USE_TYPE_UNSPECIFIED: UseType
USE_TYPE_NORMAL: UseType
USE_TYPE_MANUAL: UseType
USE_TYPE_MANUAL_BIZ: UseType
USE_TYPE_SKIP: UseType
USE_TYPE_ADHOC_QUERY: UseType
USE_TYPE_COMPONENT: UseType
COMMIT_STATUS_UNSPECIFIED: CommitStatus
COMMIT_STATUS_UNCOMMITTED: CommitStatus
COMMIT_STATUS_COMMITTED: CommitStatus
FILE_VERSION_STATE_UNSPECIFIED: FileVersionState
FILE_VERSION_STATE_COMMITTING: FileVersionState
FILE_VERSION_STATE_COMMITTED: FileVersionState
FILE_VERSION_STATE_PACKAGED: FileVersionState
FILE_VERSION_STATE_DEPLOYING: FileVersionState
FILE_VERSION_STATE_DEPLOYED: FileVersionState
FILE_VERSION_STATE_CANCELLED: FileVersionState

class File(_message.Message):
    __slots__ = ("name", "vendor", "display_name", "kind", "file_type", "folder_path", "folder_id", "use_type", "owner", "creator", "last_editor", "create_time", "update_time", "description", "content", "current_version", "commit_status", "node_id", "workflow_id", "connection_name", "deleted_status", "vendor_record")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FILE_TYPE_FIELD_NUMBER: _ClassVar[int]
    FOLDER_PATH_FIELD_NUMBER: _ClassVar[int]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    USE_TYPE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    LAST_EDITOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    COMMIT_STATUS_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_NAME_FIELD_NUMBER: _ClassVar[int]
    DELETED_STATUS_FIELD_NUMBER: _ClassVar[int]
    VENDOR_RECORD_FIELD_NUMBER: _ClassVar[int]
    name: str
    vendor: _common_pb2.Vendor
    display_name: str
    kind: _release_pb2.FileKind
    file_type: str
    folder_path: str
    folder_id: str
    use_type: UseType
    owner: _common_pb2.User
    creator: _common_pb2.User
    last_editor: _common_pb2.User
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    description: str
    content: str
    current_version: int
    commit_status: CommitStatus
    node_id: str
    workflow_id: str
    connection_name: str
    deleted_status: str
    vendor_record: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., vendor: _Optional[_Union[_common_pb2.Vendor, str]] = ..., display_name: _Optional[str] = ..., kind: _Optional[_Union[_release_pb2.FileKind, str]] = ..., file_type: _Optional[str] = ..., folder_path: _Optional[str] = ..., folder_id: _Optional[str] = ..., use_type: _Optional[_Union[UseType, str]] = ..., owner: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., creator: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., last_editor: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., description: _Optional[str] = ..., content: _Optional[str] = ..., current_version: _Optional[int] = ..., commit_status: _Optional[_Union[CommitStatus, str]] = ..., node_id: _Optional[str] = ..., workflow_id: _Optional[str] = ..., connection_name: _Optional[str] = ..., deleted_status: _Optional[str] = ..., vendor_record: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListFilesRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "folder_path", "keyword", "exact_name", "use_type", "file_types", "owner", "node_id", "include_content", "include_folder_path", "file_ids", "last_editor", "commit_status", "view")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FOLDER_PATH_FIELD_NUMBER: _ClassVar[int]
    KEYWORD_FIELD_NUMBER: _ClassVar[int]
    EXACT_NAME_FIELD_NUMBER: _ClassVar[int]
    USE_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILE_TYPES_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_CONTENT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FOLDER_PATH_FIELD_NUMBER: _ClassVar[int]
    FILE_IDS_FIELD_NUMBER: _ClassVar[int]
    LAST_EDITOR_FIELD_NUMBER: _ClassVar[int]
    COMMIT_STATUS_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    folder_path: str
    keyword: str
    exact_name: str
    use_type: UseType
    file_types: _containers.RepeatedScalarFieldContainer[str]
    owner: _common_pb2.UserRef
    node_id: str
    include_content: bool
    include_folder_path: bool
    file_ids: _containers.RepeatedScalarFieldContainer[str]
    last_editor: _common_pb2.UserRef
    commit_status: CommitStatus
    view: _common_pb2.View
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., folder_path: _Optional[str] = ..., keyword: _Optional[str] = ..., exact_name: _Optional[str] = ..., use_type: _Optional[_Union[UseType, str]] = ..., file_types: _Optional[_Iterable[str]] = ..., owner: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ..., node_id: _Optional[str] = ..., include_content: _Optional[bool] = ..., include_folder_path: _Optional[bool] = ..., file_ids: _Optional[_Iterable[str]] = ..., last_editor: _Optional[_Union[_common_pb2.UserRef, _Mapping]] = ..., commit_status: _Optional[_Union[CommitStatus, str]] = ..., view: _Optional[_Union[_common_pb2.View, str]] = ...) -> None: ...

class ListFilesResponse(_message.Message):
    __slots__ = ("files", "next_page_token", "total_size")
    FILES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[File]
    next_page_token: str
    total_size: int
    def __init__(self, files: _Optional[_Iterable[_Union[File, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetFileRequest(_message.Message):
    __slots__ = ("name", "view")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    view: _common_pb2.View
    def __init__(self, name: _Optional[str] = ..., view: _Optional[_Union[_common_pb2.View, str]] = ...) -> None: ...

class GetFileResponse(_message.Message):
    __slots__ = ("file",)
    FILE_FIELD_NUMBER: _ClassVar[int]
    file: File
    def __init__(self, file: _Optional[_Union[File, _Mapping]] = ...) -> None: ...

class FileVersion(_message.Message):
    __slots__ = ("name", "vendor", "version", "display_name", "content", "comment", "state", "is_current_prod", "committer", "commit_time", "change_type", "node_id", "node_content", "property_content", "use_type", "vendor_record")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    IS_CURRENT_PROD_FIELD_NUMBER: _ClassVar[int]
    COMMITTER_FIELD_NUMBER: _ClassVar[int]
    COMMIT_TIME_FIELD_NUMBER: _ClassVar[int]
    CHANGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_CONTENT_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_CONTENT_FIELD_NUMBER: _ClassVar[int]
    USE_TYPE_FIELD_NUMBER: _ClassVar[int]
    VENDOR_RECORD_FIELD_NUMBER: _ClassVar[int]
    name: str
    vendor: _common_pb2.Vendor
    version: int
    display_name: str
    content: str
    comment: str
    state: FileVersionState
    is_current_prod: bool
    committer: _common_pb2.User
    commit_time: _timestamp_pb2.Timestamp
    change_type: _common_pb2.ChangeType
    node_id: str
    node_content: str
    property_content: str
    use_type: UseType
    vendor_record: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., vendor: _Optional[_Union[_common_pb2.Vendor, str]] = ..., version: _Optional[int] = ..., display_name: _Optional[str] = ..., content: _Optional[str] = ..., comment: _Optional[str] = ..., state: _Optional[_Union[FileVersionState, str]] = ..., is_current_prod: _Optional[bool] = ..., committer: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., commit_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., change_type: _Optional[_Union[_common_pb2.ChangeType, str]] = ..., node_id: _Optional[str] = ..., node_content: _Optional[str] = ..., property_content: _Optional[str] = ..., use_type: _Optional[_Union[UseType, str]] = ..., vendor_record: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListFileVersionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "view")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    view: _common_pb2.View
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., view: _Optional[_Union[_common_pb2.View, str]] = ...) -> None: ...

class ListFileVersionsResponse(_message.Message):
    __slots__ = ("file_versions", "next_page_token", "total_size")
    FILE_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    file_versions: _containers.RepeatedCompositeFieldContainer[FileVersion]
    next_page_token: str
    total_size: int
    def __init__(self, file_versions: _Optional[_Iterable[_Union[FileVersion, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetFileVersionRequest(_message.Message):
    __slots__ = ("name", "view")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    view: _common_pb2.View
    def __init__(self, name: _Optional[str] = ..., view: _Optional[_Union[_common_pb2.View, str]] = ...) -> None: ...

class GetFileVersionResponse(_message.Message):
    __slots__ = ("file_version",)
    FILE_VERSION_FIELD_NUMBER: _ClassVar[int]
    file_version: FileVersion
    def __init__(self, file_version: _Optional[_Union[FileVersion, _Mapping]] = ...) -> None: ...
