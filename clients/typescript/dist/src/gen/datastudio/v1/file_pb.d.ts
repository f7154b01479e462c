import type { GenEnum, GenFile, GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import type { ChangeType, User, UserRef, Vendor, View } from "./common_pb.js";
import type { FileKind } from "./release_pb.js";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { JsonObject, Message } from "@bufbuild/protobuf";
/**
 * Describes the file datastudio/v1/file.proto.
 */
export declare const file_datastudio_v1_file: GenFile;
/**
 * A file: a script, node or job.
 *
 * @generated from message datastudio.v1.File
 */
export type File = Message<"datastudio.v1.File"> & {
    /**
     * Resource name: `workspaces/{workspace}/files/{file}`.
     *
     * @generated from field: string name = 1;
     */
    name: string;
    /**
     * The vendor of the workspace.
     *
     * @generated from field: datastudio.v1.Vendor vendor = 2;
     */
    vendor: Vendor;
    /**
     * File name (Alibaba FileName, Huawei name).
     *
     * @generated from field: string display_name = 3;
     */
    displayName: string;
    /**
     * Coarse kind.
     *
     * @generated from field: datastudio.v1.FileKind kind = 4;
     */
    kind: FileKind;
    /**
     * The vendor's own type: Alibaba FileType code ("10" = ODPS SQL), Huawei
     * script type ("HiveSQL", "Shell") or job type ("BATCH", "REAL_TIME").
     *
     * @generated from field: string file_type = 5;
     */
    fileType: string;
    /**
     * Folder path (Alibaba AbsoluteFolderPath, only with
     * include_folder_path; Huawei directory / path).
     *
     * @generated from field: string folder_path = 6;
     */
    folderPath: string;
    /**
     * Folder id (Alibaba FileFolderId).
     *
     * @generated from field: string folder_id = 7;
     */
    folderId: string;
    /**
     * Functional module (Alibaba UseType).
     *
     * @generated from field: datastudio.v1.UseType use_type = 8;
     */
    useType: UseType;
    /**
     * Owner (Alibaba Owner UID, Huawei owner name).
     *
     * @generated from field: datastudio.v1.User owner = 9;
     */
    owner?: User | undefined;
    /**
     * Creator (Alibaba CreateUser, Huawei create_user).
     *
     * @generated from field: datastudio.v1.User creator = 10;
     */
    creator?: User | undefined;
    /**
     * Last editor (Alibaba LastEditUser, Huawei last_update_user).
     *
     * @generated from field: datastudio.v1.User last_editor = 11;
     */
    lastEditor?: User | undefined;
    /**
     * Creation time (Alibaba CreateTime, Huawei job create_time).
     *
     * @generated from field: google.protobuf.Timestamp create_time = 12;
     */
    createTime?: Timestamp | undefined;
    /**
     * Last change (Alibaba LastEditTime, Huawei modify_time / last_update_time).
     *
     * @generated from field: google.protobuf.Timestamp update_time = 13;
     */
    updateTime?: Timestamp | undefined;
    /**
     * Description (Alibaba FileDescription, Huawei description).
     *
     * @generated from field: string description = 14;
     */
    description: string;
    /**
     * The code: on GetFile, and on ListFiles with include_content (Alibaba
     * Content; Huawei script content or the job definition JSON).
     *
     * @generated from field: string content = 15;
     */
    content: string;
    /**
     * Latest committed version (Alibaba CurrentVersion, Huawei version).
     *
     * @generated from field: int64 current_version = 16;
     */
    currentVersion: bigint;
    /**
     * Commit status (Alibaba CommitStatus).
     *
     * @generated from field: datastudio.v1.CommitStatus commit_status = 17;
     */
    commitStatus: CommitStatus;
    /**
     * Scheduler node id (Alibaba NodeId).
     *
     * @generated from field: string node_id = 18;
     */
    nodeId: string;
    /**
     * Workflow id (Alibaba BusinessId).
     *
     * @generated from field: string workflow_id = 19;
     */
    workflowId: string;
    /**
     * Data connection (Alibaba ConnectionName, Huawei connection_name).
     *
     * @generated from field: string connection_name = 20;
     */
    connectionName: string;
    /**
     * Deletion state (Alibaba DeletedStatus: NORMAL, RECYCLE_BIN, DELETED).
     *
     * @generated from field: string deleted_status = 21;
     */
    deletedStatus: string;
    /**
     * The vendor's raw record, with VIEW_FULL only.
     *
     * @generated from field: google.protobuf.Struct vendor_record = 22;
     */
    vendorRecord?: JsonObject | undefined;
};
/**
 * Describes the message datastudio.v1.File.
 * Use `create(FileSchema)` to create a new message.
 */
export declare const FileSchema: GenMessage<File>;
/**
 * Request for ListFiles. Every filter is applied by the vendor, applied by
 * the gateway, or rejected with INVALID_ARGUMENT naming it; the workspace's
 * capabilities say which.
 *
 * @generated from message datastudio.v1.ListFilesRequest
 */
export type ListFilesRequest = Message<"datastudio.v1.ListFilesRequest"> & {
    /**
     * The workspace: `workspaces/{workspace}`.
     *
     * @generated from field: string parent = 1;
     */
    parent: string;
    /**
     * Maximum files to return, 1..100; 0 means 20.
     *
     * @generated from field: int32 page_size = 2;
     */
    pageSize: number;
    /**
     * A `next_page_token` from a previous call with the same filters.
     *
     * @generated from field: string page_token = 3;
     */
    pageToken: string;
    /**
     * Folder path (Alibaba FileFolderPath; Huawei: gateway, directory prefix).
     *
     * @generated from field: string folder_path = 4;
     */
    folderPath: string;
    /**
     * Name contains (Alibaba Keyword; Huawei script_name / job_name).
     *
     * @generated from field: string keyword = 5;
     */
    keyword: string;
    /**
     * Exact file name (Alibaba ExactFileName; Huawei: gateway).
     *
     * @generated from field: string exact_name = 6;
     */
    exactName: string;
    /**
     * Functional module (Alibaba UseType; Huawei: rejected).
     *
     * @generated from field: datastudio.v1.UseType use_type = 7;
     */
    useType: UseType;
    /**
     * Any of these vendor file types (Alibaba FileTypes codes such as "10";
     * Huawei script types such as "HiveSQL" and job types "BATCH",
     * "REAL_TIME": gateway). At most 50.
     *
     * @generated from field: repeated string file_types = 8;
     */
    fileTypes: string[];
    /**
     * Owner (Alibaba Owner by id; Huawei: gateway, by name).
     *
     * @generated from field: datastudio.v1.UserRef owner = 9;
     */
    owner?: UserRef | undefined;
    /**
     * Scheduler node id (Alibaba NodeId; Huawei: rejected).
     *
     * @generated from field: string node_id = 10;
     */
    nodeId: string;
    /**
     * Include each file's content (Alibaba NeedContent; Huawei: one extra
     * vendor call per file on the page).
     *
     * @generated from field: bool include_content = 11;
     */
    includeContent: boolean;
    /**
     * Include each file's folder path (Alibaba NeedAbsoluteFolderPath; Huawei
     * always includes it).
     *
     * @generated from field: bool include_folder_path = 12;
     */
    includeFolderPath: boolean;
    /**
     * Only these files, at most 50 ids (Alibaba FileIdIn; Huawei: gateway).
     *
     * @generated from field: repeated string file_ids = 13;
     */
    fileIds: string[];
    /**
     * Last editor (Alibaba LastEditUser by id; Huawei: gateway, by name, jobs).
     *
     * @generated from field: datastudio.v1.UserRef last_editor = 14;
     */
    lastEditor?: UserRef | undefined;
    /**
     * Commit status (Alibaba CommitStatus, 2024-05-18; Huawei: rejected).
     *
     * @generated from field: datastudio.v1.CommitStatus commit_status = 15;
     */
    commitStatus: CommitStatus;
    /**
     * VIEW_FULL adds each file's raw vendor record.
     *
     * @generated from field: datastudio.v1.View view = 16;
     */
    view: View;
};
/**
 * Describes the message datastudio.v1.ListFilesRequest.
 * Use `create(ListFilesRequestSchema)` to create a new message.
 */
export declare const ListFilesRequestSchema: GenMessage<ListFilesRequest>;
/**
 * Response for ListFiles.
 *
 * @generated from message datastudio.v1.ListFilesResponse
 */
export type ListFilesResponse = Message<"datastudio.v1.ListFilesResponse"> & {
    /**
     * The files on this page.
     *
     * @generated from field: repeated datastudio.v1.File files = 1;
     */
    files: File[];
    /**
     * Token for the next page; empty on the last page.
     *
     * @generated from field: string next_page_token = 2;
     */
    nextPageToken: string;
    /**
     * Total matching files (an upper bound where the gateway filters).
     *
     * @generated from field: int32 total_size = 3;
     */
    totalSize: number;
};
/**
 * Describes the message datastudio.v1.ListFilesResponse.
 * Use `create(ListFilesResponseSchema)` to create a new message.
 */
export declare const ListFilesResponseSchema: GenMessage<ListFilesResponse>;
/**
 * Request for GetFile.
 *
 * @generated from message datastudio.v1.GetFileRequest
 */
export type GetFileRequest = Message<"datastudio.v1.GetFileRequest"> & {
    /**
     * `workspaces/{workspace}/files/{file}`.
     *
     * @generated from field: string name = 1;
     */
    name: string;
    /**
     * VIEW_FULL adds the raw vendor record.
     *
     * @generated from field: datastudio.v1.View view = 2;
     */
    view: View;
};
/**
 * Describes the message datastudio.v1.GetFileRequest.
 * Use `create(GetFileRequestSchema)` to create a new message.
 */
export declare const GetFileRequestSchema: GenMessage<GetFileRequest>;
/**
 * Response for GetFile.
 *
 * @generated from message datastudio.v1.GetFileResponse
 */
export type GetFileResponse = Message<"datastudio.v1.GetFileResponse"> & {
    /**
     * The file, with its content.
     *
     * @generated from field: datastudio.v1.File file = 1;
     */
    file?: File | undefined;
};
/**
 * Describes the message datastudio.v1.GetFileResponse.
 * Use `create(GetFileResponseSchema)` to create a new message.
 */
export declare const GetFileResponseSchema: GenMessage<GetFileResponse>;
/**
 * A committed version of a file.
 *
 * @generated from message datastudio.v1.FileVersion
 */
export type FileVersion = Message<"datastudio.v1.FileVersion"> & {
    /**
     * Resource name: `workspaces/{workspace}/files/{file}/versions/{version}`.
     *
     * @generated from field: string name = 1;
     */
    name: string;
    /**
     * The vendor of the workspace.
     *
     * @generated from field: datastudio.v1.Vendor vendor = 2;
     */
    vendor: Vendor;
    /**
     * Version number (Alibaba FileVersion, Huawei version).
     *
     * @generated from field: int64 version = 3;
     */
    version: bigint;
    /**
     * The file's name at this version (Alibaba FileName).
     *
     * @generated from field: string display_name = 4;
     */
    displayName: string;
    /**
     * The code at this version (Alibaba FileContent, Huawei script content).
     *
     * @generated from field: string content = 5;
     */
    content: string;
    /**
     * Commit comment (Alibaba Comment).
     *
     * @generated from field: string comment = 6;
     */
    comment: string;
    /**
     * State (Alibaba Status).
     *
     * @generated from field: datastudio.v1.FileVersionState state = 7;
     */
    state: FileVersionState;
    /**
     * Whether this version is live in production (Alibaba IsCurrentProd).
     *
     * @generated from field: bool is_current_prod = 8;
     */
    isCurrentProd: boolean;
    /**
     * Who committed it (Alibaba CommitUser).
     *
     * @generated from field: datastudio.v1.User committer = 9;
     */
    committer?: User | undefined;
    /**
     * When it was committed (Alibaba CommitTime).
     *
     * @generated from field: google.protobuf.Timestamp commit_time = 10;
     */
    commitTime?: Timestamp | undefined;
    /**
     * What the version changed (Alibaba ChangeType).
     *
     * @generated from field: datastudio.v1.ChangeType change_type = 11;
     */
    changeType: ChangeType;
    /**
     * Scheduler node id (Alibaba NodeId).
     *
     * @generated from field: string node_id = 12;
     */
    nodeId: string;
    /**
     * Scheduling configuration, JSON text (Alibaba NodeContent).
     *
     * @generated from field: string node_content = 13;
     */
    nodeContent: string;
    /**
     * File properties, JSON text (Alibaba FilePropertyContent).
     *
     * @generated from field: string property_content = 14;
     */
    propertyContent: string;
    /**
     * Functional module (Alibaba UseType).
     *
     * @generated from field: datastudio.v1.UseType use_type = 15;
     */
    useType: UseType;
    /**
     * The vendor's raw record, with VIEW_FULL only.
     *
     * @generated from field: google.protobuf.Struct vendor_record = 16;
     */
    vendorRecord?: JsonObject | undefined;
};
/**
 * Describes the message datastudio.v1.FileVersion.
 * Use `create(FileVersionSchema)` to create a new message.
 */
export declare const FileVersionSchema: GenMessage<FileVersion>;
/**
 * Request for ListFileVersions.
 *
 * @generated from message datastudio.v1.ListFileVersionsRequest
 */
export type ListFileVersionsRequest = Message<"datastudio.v1.ListFileVersionsRequest"> & {
    /**
     * The file: `workspaces/{workspace}/files/{file}`.
     *
     * @generated from field: string parent = 1;
     */
    parent: string;
    /**
     * Maximum versions to return, 1..100; 0 means 20.
     *
     * @generated from field: int32 page_size = 2;
     */
    pageSize: number;
    /**
     * A `next_page_token` from a previous call.
     *
     * @generated from field: string page_token = 3;
     */
    pageToken: string;
    /**
     * VIEW_FULL adds each version's raw vendor record.
     *
     * @generated from field: datastudio.v1.View view = 4;
     */
    view: View;
};
/**
 * Describes the message datastudio.v1.ListFileVersionsRequest.
 * Use `create(ListFileVersionsRequestSchema)` to create a new message.
 */
export declare const ListFileVersionsRequestSchema: GenMessage<ListFileVersionsRequest>;
/**
 * Response for ListFileVersions.
 *
 * @generated from message datastudio.v1.ListFileVersionsResponse
 */
export type ListFileVersionsResponse = Message<"datastudio.v1.ListFileVersionsResponse"> & {
    /**
     * The versions on this page, newest first.
     *
     * @generated from field: repeated datastudio.v1.FileVersion file_versions = 1;
     */
    fileVersions: FileVersion[];
    /**
     * Token for the next page; empty on the last page.
     *
     * @generated from field: string next_page_token = 2;
     */
    nextPageToken: string;
    /**
     * Total versions.
     *
     * @generated from field: int32 total_size = 3;
     */
    totalSize: number;
};
/**
 * Describes the message datastudio.v1.ListFileVersionsResponse.
 * Use `create(ListFileVersionsResponseSchema)` to create a new message.
 */
export declare const ListFileVersionsResponseSchema: GenMessage<ListFileVersionsResponse>;
/**
 * Request for GetFileVersion.
 *
 * @generated from message datastudio.v1.GetFileVersionRequest
 */
export type GetFileVersionRequest = Message<"datastudio.v1.GetFileVersionRequest"> & {
    /**
     * `workspaces/{workspace}/files/{file}/versions/{version}`.
     *
     * @generated from field: string name = 1;
     */
    name: string;
    /**
     * VIEW_FULL adds the raw vendor record.
     *
     * @generated from field: datastudio.v1.View view = 2;
     */
    view: View;
};
/**
 * Describes the message datastudio.v1.GetFileVersionRequest.
 * Use `create(GetFileVersionRequestSchema)` to create a new message.
 */
export declare const GetFileVersionRequestSchema: GenMessage<GetFileVersionRequest>;
/**
 * Response for GetFileVersion.
 *
 * @generated from message datastudio.v1.GetFileVersionResponse
 */
export type GetFileVersionResponse = Message<"datastudio.v1.GetFileVersionResponse"> & {
    /**
     * The version, with its content.
     *
     * @generated from field: datastudio.v1.FileVersion file_version = 1;
     */
    fileVersion?: FileVersion | undefined;
};
/**
 * Describes the message datastudio.v1.GetFileVersionResponse.
 * Use `create(GetFileVersionResponseSchema)` to create a new message.
 */
export declare const GetFileVersionResponseSchema: GenMessage<GetFileVersionResponse>;
/**
 * The functional module a file belongs to (Alibaba UseType).
 *
 * @generated from enum datastudio.v1.UseType
 */
export declare enum UseType {
    /**
     * Not set / not reported.
     *
     * @generated from enum value: USE_TYPE_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * Data Studio (NORMAL).
     *
     * @generated from enum value: USE_TYPE_NORMAL = 1;
     */
    NORMAL = 1,
    /**
     * Manually triggered node (MANUAL).
     *
     * @generated from enum value: USE_TYPE_MANUAL = 2;
     */
    MANUAL = 2,
    /**
     * Manually triggered workflow (MANUAL_BIZ).
     *
     * @generated from enum value: USE_TYPE_MANUAL_BIZ = 3;
     */
    MANUAL_BIZ = 3,
    /**
     * Dry-run scheduling (SKIP).
     *
     * @generated from enum value: USE_TYPE_SKIP = 4;
     */
    SKIP = 4,
    /**
     * Ad hoc query (ADHOCQUERY).
     *
     * @generated from enum value: USE_TYPE_ADHOC_QUERY = 5;
     */
    ADHOC_QUERY = 5,
    /**
     * Component management (COMPONENT).
     *
     * @generated from enum value: USE_TYPE_COMPONENT = 6;
     */
    COMPONENT = 6
}
/**
 * Describes the enum datastudio.v1.UseType.
 */
export declare const UseTypeSchema: GenEnum<UseType>;
/**
 * Whether a file's latest code is committed (Alibaba CommitStatus).
 *
 * @generated from enum datastudio.v1.CommitStatus
 */
export declare enum CommitStatus {
    /**
     * Not set / not reported.
     *
     * @generated from enum value: COMMIT_STATUS_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * The latest code is not committed (Alibaba 0).
     *
     * @generated from enum value: COMMIT_STATUS_UNCOMMITTED = 1;
     */
    UNCOMMITTED = 1,
    /**
     * The latest code is committed (Alibaba 1).
     *
     * @generated from enum value: COMMIT_STATUS_COMMITTED = 2;
     */
    COMMITTED = 2
}
/**
 * Describes the enum datastudio.v1.CommitStatus.
 */
export declare const CommitStatusSchema: GenEnum<CommitStatus>;
/**
 * The state of a committed file version (Alibaba FileVersion Status).
 *
 * @generated from enum datastudio.v1.FileVersionState
 */
export declare enum FileVersionState {
    /**
     * Not reported.
     *
     * @generated from enum value: FILE_VERSION_STATE_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * Being committed (COMMITTING).
     *
     * @generated from enum value: FILE_VERSION_STATE_COMMITTING = 1;
     */
    COMMITTING = 1,
    /**
     * Committed (COMMITTED, CHECK_OK).
     *
     * @generated from enum value: FILE_VERSION_STATE_COMMITTED = 2;
     */
    COMMITTED = 2,
    /**
     * In a release package (PACKAGED).
     *
     * @generated from enum value: FILE_VERSION_STATE_PACKAGED = 3;
     */
    PACKAGED = 3,
    /**
     * Being deployed (DEPLOYING).
     *
     * @generated from enum value: FILE_VERSION_STATE_DEPLOYING = 4;
     */
    DEPLOYING = 4,
    /**
     * Deployed (DEPLOYED).
     *
     * @generated from enum value: FILE_VERSION_STATE_DEPLOYED = 5;
     */
    DEPLOYED = 5,
    /**
     * Deployment cancelled (CANCELLED).
     *
     * @generated from enum value: FILE_VERSION_STATE_CANCELLED = 6;
     */
    CANCELLED = 6
}
/**
 * Describes the enum datastudio.v1.FileVersionState.
 */
export declare const FileVersionStateSchema: GenEnum<FileVersionState>;
/**
 * Files (scripts, nodes, jobs) and their committed versions.
 *
 * Alibaba: DataWorks files (ListFiles, GetFile, ListFileVersions,
 * GetFileVersion). Huawei: DataArts Factory scripts and jobs, merged into one
 * listing; file ids are `script:{name}` and `job:{name}`. Huawei has no
 * version-list API: ListFileVersions reads versions one by one (one vendor
 * call per version on the page) and GetFileVersion reads scripts only.
 *
 * @generated from service datastudio.v1.FileService
 */
export declare const FileService: GenService<{
    /**
     * Lists files in a workspace.
     *
     * @generated from rpc datastudio.v1.FileService.ListFiles
     */
    listFiles: {
        methodKind: "unary";
        input: typeof ListFilesRequestSchema;
        output: typeof ListFilesResponseSchema;
    };
    /**
     * Gets one file, with its content.
     *
     * @generated from rpc datastudio.v1.FileService.GetFile
     */
    getFile: {
        methodKind: "unary";
        input: typeof GetFileRequestSchema;
        output: typeof GetFileResponseSchema;
    };
    /**
     * Lists a file's committed versions, newest first.
     *
     * @generated from rpc datastudio.v1.FileService.ListFileVersions
     */
    listFileVersions: {
        methodKind: "unary";
        input: typeof ListFileVersionsRequestSchema;
        output: typeof ListFileVersionsResponseSchema;
    };
    /**
     * Gets one version of a file, with its content.
     *
     * @generated from rpc datastudio.v1.FileService.GetFileVersion
     */
    getFileVersion: {
        methodKind: "unary";
        input: typeof GetFileVersionRequestSchema;
        output: typeof GetFileVersionResponseSchema;
    };
}>;
