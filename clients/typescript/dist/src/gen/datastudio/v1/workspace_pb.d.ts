import type { GenEnum, GenFile, GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import type { Vendor } from "./common_pb.js";
import type { Message } from "@bufbuild/protobuf";
/**
 * Describes the file datastudio/v1/workspace.proto.
 */
export declare const file_datastudio_v1_workspace: GenFile;
/**
 * A configured workspace.
 *
 * @generated from message datastudio.v1.Workspace
 */
export type Workspace = Message<"datastudio.v1.Workspace"> & {
    /**
     * Resource name: `workspaces/{workspace}`.
     *
     * @generated from field: string name = 1;
     */
    name: string;
    /**
     * Its vendor.
     *
     * @generated from field: datastudio.v1.Vendor vendor = 2;
     */
    vendor: Vendor;
    /**
     * The vendor region (e.g. cn-hangzhou, cn-north-4).
     *
     * @generated from field: string region = 3;
     */
    region: string;
    /**
     * The vendor's project / workspace id (Alibaba ProjectId or
     * ProjectIdentifier; Huawei project id).
     *
     * @generated from field: string vendor_project = 4;
     */
    vendorProject: string;
    /**
     * The vendor flavour: "dataworks-legacy" (Data Studio deployment packages),
     * "dataworks-pipeline" (new Data Studio pipeline runs) or "dataarts".
     *
     * @generated from field: string flavour = 5;
     */
    flavour: string;
    /**
     * What the workspace supports.
     *
     * @generated from field: datastudio.v1.Capabilities capabilities = 6;
     */
    capabilities?: Capabilities | undefined;
};
/**
 * Describes the message datastudio.v1.Workspace.
 * Use `create(WorkspaceSchema)` to create a new message.
 */
export declare const WorkspaceSchema: GenMessage<Workspace>;
/**
 * What a workspace supports.
 *
 * @generated from message datastudio.v1.Capabilities
 */
export type Capabilities = Message<"datastudio.v1.Capabilities"> & {
    /**
     * Each RPC of the API and whether it works here.
     *
     * @generated from field: repeated datastudio.v1.OperationSupport operations = 1;
     */
    operations: OperationSupport[];
    /**
     * Each request filter of the list RPCs and who applies it.
     *
     * @generated from field: repeated datastudio.v1.FilterSupport filters = 2;
     */
    filters: FilterSupport[];
};
/**
 * Describes the message datastudio.v1.Capabilities.
 * Use `create(CapabilitiesSchema)` to create a new message.
 */
export declare const CapabilitiesSchema: GenMessage<Capabilities>;
/**
 * Whether an operation works in a workspace.
 *
 * @generated from message datastudio.v1.OperationSupport
 */
export type OperationSupport = Message<"datastudio.v1.OperationSupport"> & {
    /**
     * Full method, e.g. "datastudio.v1.ReleaseService/DeployReleasePackages".
     *
     * @generated from field: string method = 1;
     */
    method: string;
    /**
     * Whether callers may use it here.
     *
     * @generated from field: bool supported = 2;
     */
    supported: boolean;
    /**
     * Why not, what to call instead, or its cost in vendor calls.
     *
     * @generated from field: string note = 3;
     */
    note: string;
};
/**
 * Describes the message datastudio.v1.OperationSupport.
 * Use `create(OperationSupportSchema)` to create a new message.
 */
export declare const OperationSupportSchema: GenMessage<OperationSupport>;
/**
 * How a workspace handles one request filter.
 *
 * @generated from message datastudio.v1.FilterSupport
 */
export type FilterSupport = Message<"datastudio.v1.FilterSupport"> & {
    /**
     * Request field, e.g. "ListFilesRequest.owner".
     *
     * @generated from field: string field = 1;
     */
    field: string;
    /**
     * Who applies it.
     *
     * @generated from field: datastudio.v1.FilterHandling handling = 2;
     */
    handling: FilterHandling;
    /**
     * Details: the vendor parameter, or the limit on it.
     *
     * @generated from field: string note = 3;
     */
    note: string;
};
/**
 * Describes the message datastudio.v1.FilterSupport.
 * Use `create(FilterSupportSchema)` to create a new message.
 */
export declare const FilterSupportSchema: GenMessage<FilterSupport>;
/**
 * Request for ListWorkspaces.
 *
 * @generated from message datastudio.v1.ListWorkspacesRequest
 */
export type ListWorkspacesRequest = Message<"datastudio.v1.ListWorkspacesRequest"> & {
    /**
     * Maximum workspaces to return, 1..100; 0 means 20.
     *
     * @generated from field: int32 page_size = 1;
     */
    pageSize: number;
    /**
     * A `next_page_token` from a previous call.
     *
     * @generated from field: string page_token = 2;
     */
    pageToken: string;
};
/**
 * Describes the message datastudio.v1.ListWorkspacesRequest.
 * Use `create(ListWorkspacesRequestSchema)` to create a new message.
 */
export declare const ListWorkspacesRequestSchema: GenMessage<ListWorkspacesRequest>;
/**
 * Response for ListWorkspaces.
 *
 * @generated from message datastudio.v1.ListWorkspacesResponse
 */
export type ListWorkspacesResponse = Message<"datastudio.v1.ListWorkspacesResponse"> & {
    /**
     * The workspaces on this page.
     *
     * @generated from field: repeated datastudio.v1.Workspace workspaces = 1;
     */
    workspaces: Workspace[];
    /**
     * Token for the next page; empty on the last page.
     *
     * @generated from field: string next_page_token = 2;
     */
    nextPageToken: string;
    /**
     * Number of configured workspaces.
     *
     * @generated from field: int32 total_size = 3;
     */
    totalSize: number;
};
/**
 * Describes the message datastudio.v1.ListWorkspacesResponse.
 * Use `create(ListWorkspacesResponseSchema)` to create a new message.
 */
export declare const ListWorkspacesResponseSchema: GenMessage<ListWorkspacesResponse>;
/**
 * Request for GetWorkspace.
 *
 * @generated from message datastudio.v1.GetWorkspaceRequest
 */
export type GetWorkspaceRequest = Message<"datastudio.v1.GetWorkspaceRequest"> & {
    /**
     * `workspaces/{workspace}`.
     *
     * @generated from field: string name = 1;
     */
    name: string;
};
/**
 * Describes the message datastudio.v1.GetWorkspaceRequest.
 * Use `create(GetWorkspaceRequestSchema)` to create a new message.
 */
export declare const GetWorkspaceRequestSchema: GenMessage<GetWorkspaceRequest>;
/**
 * Response for GetWorkspace.
 *
 * @generated from message datastudio.v1.GetWorkspaceResponse
 */
export type GetWorkspaceResponse = Message<"datastudio.v1.GetWorkspaceResponse"> & {
    /**
     * The workspace.
     *
     * @generated from field: datastudio.v1.Workspace workspace = 1;
     */
    workspace?: Workspace | undefined;
};
/**
 * Describes the message datastudio.v1.GetWorkspaceResponse.
 * Use `create(GetWorkspaceResponseSchema)` to create a new message.
 */
export declare const GetWorkspaceResponseSchema: GenMessage<GetWorkspaceResponse>;
/**
 * Who applies a list filter.
 *
 * @generated from enum datastudio.v1.FilterHandling
 */
export declare enum FilterHandling {
    /**
     * Not set.
     *
     * @generated from enum value: FILTER_HANDLING_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * The vendor applies it.
     *
     * @generated from enum value: FILTER_HANDLING_VENDOR = 1;
     */
    VENDOR = 1,
    /**
     * The gateway applies it over the vendor's listing.
     *
     * @generated from enum value: FILTER_HANDLING_GATEWAY = 2;
     */
    GATEWAY = 2,
    /**
     * Not available: a request that sets it is rejected (INVALID_ARGUMENT).
     *
     * @generated from enum value: FILTER_HANDLING_REJECTED = 3;
     */
    REJECTED = 3
}
/**
 * Describes the enum datastudio.v1.FilterHandling.
 */
export declare const FilterHandlingSchema: GenEnum<FilterHandling>;
/**
 * The workspaces this gateway serves and what each can do.
 *
 * A workspace is a name from the gateway's configuration that binds a vendor,
 * region, project and credentials. Callers name only the workspace; this
 * service tells them which operations and filters its vendor supports, so
 * tools can discover what they may call. Credentials are never returned.
 *
 * @generated from service datastudio.v1.WorkspaceService
 */
export declare const WorkspaceService: GenService<{
    /**
     * Lists the configured workspaces, ordered by name.
     *
     * @generated from rpc datastudio.v1.WorkspaceService.ListWorkspaces
     */
    listWorkspaces: {
        methodKind: "unary";
        input: typeof ListWorkspacesRequestSchema;
        output: typeof ListWorkspacesResponseSchema;
    };
    /**
     * Gets one workspace.
     *
     * @generated from rpc datastudio.v1.WorkspaceService.GetWorkspace
     */
    getWorkspace: {
        methodKind: "unary";
        input: typeof GetWorkspaceRequestSchema;
        output: typeof GetWorkspaceResponseSchema;
    };
}>;
