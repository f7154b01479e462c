from datastudio.v1 import common_pb2 as _common_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FilterHandling(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILTER_HANDLING_UNSPECIFIED: _ClassVar[FilterHandling]
    FILTER_HANDLING_VENDOR: _ClassVar[FilterHandling]
    FILTER_HANDLING_GATEWAY: _ClassVar[FilterHandling]
    FILTER_HANDLING_REJECTED: _ClassVar[FilterHandling]
FILTER_HANDLING_UNSPECIFIED: FilterHandling
FILTER_HANDLING_VENDOR: FilterHandling
FILTER_HANDLING_GATEWAY: FilterHandling
FILTER_HANDLING_REJECTED: FilterHandling

class Workspace(_message.Message):
    __slots__ = ("name", "vendor", "region", "vendor_project", "flavour", "capabilities")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    VENDOR_PROJECT_FIELD_NUMBER: _ClassVar[int]
    FLAVOUR_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    name: str
    vendor: _common_pb2.Vendor
    region: str
    vendor_project: str
    flavour: str
    capabilities: Capabilities
    def __init__(self, name: _Optional[str] = ..., vendor: _Optional[_Union[_common_pb2.Vendor, str]] = ..., region: _Optional[str] = ..., vendor_project: _Optional[str] = ..., flavour: _Optional[str] = ..., capabilities: _Optional[_Union[Capabilities, _Mapping]] = ...) -> None: ...

class Capabilities(_message.Message):
    __slots__ = ("operations", "filters")
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    operations: _containers.RepeatedCompositeFieldContainer[OperationSupport]
    filters: _containers.RepeatedCompositeFieldContainer[FilterSupport]
    def __init__(self, operations: _Optional[_Iterable[_Union[OperationSupport, _Mapping]]] = ..., filters: _Optional[_Iterable[_Union[FilterSupport, _Mapping]]] = ...) -> None: ...

class OperationSupport(_message.Message):
    __slots__ = ("method", "supported", "note")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    SUPPORTED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    method: str
    supported: bool
    note: str
    def __init__(self, method: _Optional[str] = ..., supported: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class FilterSupport(_message.Message):
    __slots__ = ("field", "handling", "note")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    HANDLING_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    field: str
    handling: FilterHandling
    note: str
    def __init__(self, field: _Optional[str] = ..., handling: _Optional[_Union[FilterHandling, str]] = ..., note: _Optional[str] = ...) -> None: ...

class ListWorkspacesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWorkspacesResponse(_message.Message):
    __slots__ = ("workspaces", "next_page_token", "total_size")
    WORKSPACES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    workspaces: _containers.RepeatedCompositeFieldContainer[Workspace]
    next_page_token: str
    total_size: int
    def __init__(self, workspaces: _Optional[_Iterable[_Union[Workspace, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class GetWorkspaceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetWorkspaceResponse(_message.Message):
    __slots__ = ("workspace",)
    WORKSPACE_FIELD_NUMBER: _ClassVar[int]
    workspace: Workspace
    def __init__(self, workspace: _Optional[_Union[Workspace, _Mapping]] = ...) -> None: ...
