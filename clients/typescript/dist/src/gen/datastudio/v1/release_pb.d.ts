import type { GenEnum, GenFile, GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import type { ChangeType, TimeRange, User, UserRef, Vendor, View } from "./common_pb.js";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { JsonObject, Message } from "@bufbuild/protobuf";
/**
 * Describes the file datastudio/v1/release.proto.
 */
export declare const file_datastudio_v1_release: GenFile;
/**
 * A release package.
 *
 * @generated from message datastudio.v1.ReleasePackage
 */
export type ReleasePackage = Message<"datastudio.v1.ReleasePackage"> & {
    /**
     * Resource name: `workspaces/{workspace}/releasePackages/{release_package}`.
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
     * Package name (Alibaba Name / pipeline Description, Huawei package_name).
     *
     * @generated from field: string display_name = 3;
     */
    displayName: string;
    /**
     * Lifecycle state (Alibaba Status, Huawei deploy_status).
     *
     * @generated from field: datastudio.v1.ReleasePackageState state = 4;
     */
    state: ReleasePackageState;
    /**
     * Who created it (Alibaba Creator / CreatorId, Huawei apply_user_id + apply_user_name).
     *
     * @generated from field: datastudio.v1.User creator = 5;
     */
    creator?: User | undefined;
    /**
     * Who deployed it (Alibaba Executor / HandlerId, Huawei deploy_user_id + deploy_user_name).
     *
     * @generated from field: datastudio.v1.User executor = 6;
     */
    executor?: User | undefined;
    /**
     * When it was created (Alibaba CreateTime, Huawei apply_timestamp).
     *
     * @generated from field: google.protobuf.Timestamp create_time = 7;
     */
    createTime?: Timestamp | undefined;
    /**
     * When its deployment started (Alibaba ExecuteTime, Huawei deploy_timestamp).
     *
     * @generated from field: google.protobuf.Timestamp execute_time = 8;
     */
    executeTime?: Timestamp | undefined;
    /**
     * Why it failed (Alibaba ErrorMessage / pipeline Message; derived from
     * failed items on Huawei, which has no message field).
     *
     * @generated from field: string error_message = 9;
     */
    errorMessage: string;
    /**
     * Its items. Filled by GetReleasePackage only.
     *
     * @generated from field: repeated datastudio.v1.ReleasePackageItem items = 10;
     */
    items: ReleasePackageItem[];
    /**
     * Approvers (Huawei package_approvers).
     *
     * @generated from field: repeated datastudio.v1.User approvers = 11;
     */
    approvers: User[];
    /**
     * Target environment (Alibaba ToEnvironment; Huawei always production).
     *
     * @generated from field: datastudio.v1.Environment target_environment = 12;
     */
    targetEnvironment: Environment;
    /**
     * Source environment (Alibaba FromEnvironment).
     *
     * @generated from field: datastudio.v1.Environment source_environment = 13;
     */
    sourceEnvironment: Environment;
    /**
     * Whether the vendor marks it deleted (Huawei delete_flag).
     *
     * @generated from field: bool deleted = 14;
     */
    deleted: boolean;
    /**
     * Pre-deploy check state (Alibaba CheckingStatus).
     *
     * @generated from field: datastudio.v1.CheckState check_state = 15;
     */
    checkState: CheckState;
    /**
     * Pipeline stages (Alibaba new Data Studio pipeline runs only).
     *
     * @generated from field: repeated datastudio.v1.PipelineStage stages = 16;
     */
    stages: PipelineStage[];
    /**
     * The vendor's raw record, with VIEW_FULL only.
     *
     * @generated from field: google.protobuf.Struct vendor_record = 17;
     */
    vendorRecord?: JsonObject | undefined;
};
/**
 * Describes the message datastudio.v1.ReleasePackage.
 * Use `create(ReleasePackageSchema)` to create a new message.
 */
export declare const ReleasePackageSchema: GenMessage<ReleasePackage>;
/**
 * One file version inside a release package.
 *
 * @generated from message datastudio.v1.ReleasePackageItem
 */
export type ReleasePackageItem = Message<"datastudio.v1.ReleasePackageItem"> & {
    /**
     * The file: `workspaces/{workspace}/files/{file}` (Alibaba FileId, Huawei
     * `script:{item_name}` or `job:{item_name}`).
     *
     * @generated from field: string file = 1;
     */
    file: string;
    /**
     * The file's name where the vendor reports it (Huawei item_name).
     *
     * @generated from field: string file_display_name = 2;
     */
    fileDisplayName: string;
    /**
     * The version being released (Alibaba FileVersion, Huawei pending_version).
     *
     * @generated from field: int64 version = 3;
     */
    version: bigint;
    /**
     * The version live in production before this release (Huawei deployed_version).
     *
     * @generated from field: int64 deployed_version = 4;
     */
    deployedVersion: bigint;
    /**
     * Item state (Alibaba item Status 0..6, Huawei item deploy_status).
     *
     * @generated from field: datastudio.v1.ReleasePackageState state = 5;
     */
    state: ReleasePackageState;
    /**
     * The change (Huawei update_type).
     *
     * @generated from field: datastudio.v1.ChangeType change_type = 6;
     */
    changeType: ChangeType;
    /**
     * Who submitted the version (Huawei submit_user_id + submit_user_name).
     *
     * @generated from field: datastudio.v1.User submitter = 7;
     */
    submitter?: User | undefined;
    /**
     * When it was submitted (Huawei submit_timestamp).
     *
     * @generated from field: google.protobuf.Timestamp submit_time = 8;
     */
    submitTime?: Timestamp | undefined;
    /**
     * Whether the job started after release (Huawei start_job_status).
     *
     * @generated from field: datastudio.v1.JobStartState job_start_state = 9;
     */
    jobStartState: JobStartState;
    /**
     * The kind of item (Huawei task_type).
     *
     * @generated from field: datastudio.v1.FileKind kind = 10;
     */
    kind: FileKind;
};
/**
 * Describes the message datastudio.v1.ReleasePackageItem.
 * Use `create(ReleasePackageItemSchema)` to create a new message.
 */
export declare const ReleasePackageItemSchema: GenMessage<ReleasePackageItem>;
/**
 * One stage of an Alibaba new Data Studio pipeline run.
 *
 * @generated from message datastudio.v1.PipelineStage
 */
export type PipelineStage = Message<"datastudio.v1.PipelineStage"> & {
    /**
     * Stage code used to run it (e.g. DEV_CHECK, DEV, PROD).
     *
     * @generated from field: string code = 1;
     */
    code: string;
    /**
     * Position in the run, from 1.
     *
     * @generated from field: int32 step = 2;
     */
    step: number;
    /**
     * Stage name.
     *
     * @generated from field: string display_name = 3;
     */
    displayName: string;
    /**
     * Stage type (Deploy, Check, Offline, Build, Delete).
     *
     * @generated from field: string type = 4;
     */
    type: string;
    /**
     * Stage state.
     *
     * @generated from field: datastudio.v1.ReleasePackageState state = 5;
     */
    state: ReleasePackageState;
    /**
     * The vendor's message for the stage.
     *
     * @generated from field: string message = 6;
     */
    message: string;
};
/**
 * Describes the message datastudio.v1.PipelineStage.
 * Use `create(PipelineStageSchema)` to create a new message.
 */
export declare const PipelineStageSchema: GenMessage<PipelineStage>;
/**
 * Request for ListReleasePackages. Every filter is either applied by the
 * vendor, applied by the gateway over the vendor's listing, or rejected with
 * INVALID_ARGUMENT naming it; the workspace's capabilities say which.
 *
 * @generated from message datastudio.v1.ListReleasePackagesRequest
 */
export type ListReleasePackagesRequest = Message<"datastudio.v1.ListReleasePackagesRequest"> & {
    /**
     * The workspace: `workspaces/{workspace}`.
     *
     * @generated from field: string parent = 1;
     */
    parent: string;
    /**
     * Maximum packages to return, 1..100; 0 means 20.
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
     * Name contains (Alibaba Keyword, Huawei key_word).
     *
     * @generated from field: string keyword = 4;
     */
    keyword: string;
    /**
     * Any of these states (Alibaba Status takes one value: with more, the
     * gateway filters; Huawei deploy_status_filter).
     *
     * @generated from field: repeated datastudio.v1.ReleasePackageState states = 5;
     */
    states: ReleasePackageState[];
    /**
     * Any of these creators (Alibaba Creator takes one account UID; Huawei
     * apply_user_name / apply_user_name_filter take names).
     *
     * @generated from field: repeated datastudio.v1.UserRef creators = 6;
     */
    creators: UserRef[];
    /**
     * Any of these executors (Alibaba Executor, Huawei deploy_user_name /
     * deploy_user_name_filter).
     *
     * @generated from field: repeated datastudio.v1.UserRef executors = 7;
     */
    executors: UserRef[];
    /**
     * Creation time window (Alibaba EndCreateTime is the only native bound:
     * the gateway applies a start time; Huawei apply_begin_time/apply_end_time).
     *
     * @generated from field: datastudio.v1.TimeRange create_time = 8;
     */
    createTime?: TimeRange | undefined;
    /**
     * Execution time window (Alibaba EndExecuteTime; Huawei
     * deploy_begin_time/deploy_end_time).
     *
     * @generated from field: datastudio.v1.TimeRange execute_time = 9;
     */
    executeTime?: TimeRange | undefined;
    /**
     * Sort order, AIP-132: "" or "create_time desc" (the default, all vendors),
     * "create_time", "execute_time", "execute_time desc" (Huawei
     * order_column/sorted_direction only).
     *
     * @generated from field: string order_by = 10;
     */
    orderBy: string;
    /**
     * VIEW_FULL adds each package's raw vendor record.
     *
     * @generated from field: datastudio.v1.View view = 11;
     */
    view: View;
};
/**
 * Describes the message datastudio.v1.ListReleasePackagesRequest.
 * Use `create(ListReleasePackagesRequestSchema)` to create a new message.
 */
export declare const ListReleasePackagesRequestSchema: GenMessage<ListReleasePackagesRequest>;
/**
 * Response for ListReleasePackages.
 *
 * @generated from message datastudio.v1.ListReleasePackagesResponse
 */
export type ListReleasePackagesResponse = Message<"datastudio.v1.ListReleasePackagesResponse"> & {
    /**
     * The packages on this page.
     *
     * @generated from field: repeated datastudio.v1.ReleasePackage release_packages = 1;
     */
    releasePackages: ReleasePackage[];
    /**
     * Token for the next page; empty on the last page.
     *
     * @generated from field: string next_page_token = 2;
     */
    nextPageToken: string;
    /**
     * Total matching packages. Exact when the vendor applies every filter;
     * when the gateway filters, the vendor's count before that filtering (an
     * upper bound).
     *
     * @generated from field: int32 total_size = 3;
     */
    totalSize: number;
};
/**
 * Describes the message datastudio.v1.ListReleasePackagesResponse.
 * Use `create(ListReleasePackagesResponseSchema)` to create a new message.
 */
export declare const ListReleasePackagesResponseSchema: GenMessage<ListReleasePackagesResponse>;
/**
 * Request for GetReleasePackage.
 *
 * @generated from message datastudio.v1.GetReleasePackageRequest
 */
export type GetReleasePackageRequest = Message<"datastudio.v1.GetReleasePackageRequest"> & {
    /**
     * `workspaces/{workspace}/releasePackages/{release_package}`.
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
 * Describes the message datastudio.v1.GetReleasePackageRequest.
 * Use `create(GetReleasePackageRequestSchema)` to create a new message.
 */
export declare const GetReleasePackageRequestSchema: GenMessage<GetReleasePackageRequest>;
/**
 * Response for GetReleasePackage. (Get RPCs wrap the resource so that every
 * RPC has its own response message, as buf's STANDARD lint requires.)
 *
 * @generated from message datastudio.v1.GetReleasePackageResponse
 */
export type GetReleasePackageResponse = Message<"datastudio.v1.GetReleasePackageResponse"> & {
    /**
     * The package.
     *
     * @generated from field: datastudio.v1.ReleasePackage release_package = 1;
     */
    releasePackage?: ReleasePackage | undefined;
};
/**
 * Describes the message datastudio.v1.GetReleasePackageResponse.
 * Use `create(GetReleasePackageResponseSchema)` to create a new message.
 */
export declare const GetReleasePackageResponseSchema: GenMessage<GetReleasePackageResponse>;
/**
 * Request for DeployReleasePackages.
 *
 * @generated from message datastudio.v1.DeployReleasePackagesRequest
 */
export type DeployReleasePackagesRequest = Message<"datastudio.v1.DeployReleasePackagesRequest"> & {
    /**
     * The workspace: `workspaces/{workspace}`.
     *
     * @generated from field: string parent = 1;
     */
    parent: string;
    /**
     * 1..100 distinct packages of that workspace:
     * `workspaces/{workspace}/releasePackages/{release_package}`.
     *
     * @generated from field: repeated string release_packages = 2;
     */
    releasePackages: string[];
    /**
     * Whether deployed jobs start right away.
     *
     * @generated from field: datastudio.v1.StartupMode startup_mode = 3;
     */
    startupMode: StartupMode;
    /**
     * A UUID chosen by the caller (AIP-155). A repeat with the same id and the
     * same request returns the first result without deploying again; the same
     * id with a different request is INVALID_ARGUMENT.
     *
     * @generated from field: string request_id = 4;
     */
    requestId: string;
};
/**
 * Describes the message datastudio.v1.DeployReleasePackagesRequest.
 * Use `create(DeployReleasePackagesRequestSchema)` to create a new message.
 */
export declare const DeployReleasePackagesRequestSchema: GenMessage<DeployReleasePackagesRequest>;
/**
 * Response for DeployReleasePackages.
 *
 * @generated from message datastudio.v1.DeployReleasePackagesResponse
 */
export type DeployReleasePackagesResponse = Message<"datastudio.v1.DeployReleasePackagesResponse"> & {
    /**
     * One deployment per package, in request order.
     *
     * @generated from field: repeated datastudio.v1.Deployment deployments = 1;
     */
    deployments: Deployment[];
};
/**
 * Describes the message datastudio.v1.DeployReleasePackagesResponse.
 * Use `create(DeployReleasePackagesResponseSchema)` to create a new message.
 */
export declare const DeployReleasePackagesResponseSchema: GenMessage<DeployReleasePackagesResponse>;
/**
 * Request for DeployFiles.
 *
 * @generated from message datastudio.v1.DeployFilesRequest
 */
export type DeployFilesRequest = Message<"datastudio.v1.DeployFilesRequest"> & {
    /**
     * The workspace: `workspaces/{workspace}`.
     *
     * @generated from field: string parent = 1;
     */
    parent: string;
    /**
     * 1..100 distinct files: `workspaces/{w}/files/{file}` (its latest committed
     * version) or `workspaces/{w}/files/{file}/versions/{version}` (deploy only
     * if that is the version waiting to be deployed).
     *
     * @generated from field: repeated string files = 2;
     */
    files: string[];
    /**
     * Deployment comment (Alibaba DeployFile Comment, Huawei package name).
     *
     * @generated from field: string comment = 3;
     */
    comment: string;
    /**
     * Whether deployed jobs start right away (Huawei).
     *
     * @generated from field: datastudio.v1.StartupMode startup_mode = 4;
     */
    startupMode: StartupMode;
    /**
     * A UUID chosen by the caller (AIP-155); see DeployReleasePackagesRequest.
     *
     * @generated from field: string request_id = 5;
     */
    requestId: string;
};
/**
 * Describes the message datastudio.v1.DeployFilesRequest.
 * Use `create(DeployFilesRequestSchema)` to create a new message.
 */
export declare const DeployFilesRequestSchema: GenMessage<DeployFilesRequest>;
/**
 * Response for DeployFiles.
 *
 * @generated from message datastudio.v1.DeployFilesResponse
 */
export type DeployFilesResponse = Message<"datastudio.v1.DeployFilesResponse"> & {
    /**
     * The deployments started: one per file on Alibaba legacy Data Studio, one
     * for the whole package elsewhere.
     *
     * @generated from field: repeated datastudio.v1.Deployment deployments = 1;
     */
    deployments: Deployment[];
};
/**
 * Describes the message datastudio.v1.DeployFilesResponse.
 * Use `create(DeployFilesResponseSchema)` to create a new message.
 */
export declare const DeployFilesResponseSchema: GenMessage<DeployFilesResponse>;
/**
 * A deployment: one vendor deploy operation and what followed it.
 *
 * @generated from message datastudio.v1.Deployment
 */
export type Deployment = Message<"datastudio.v1.Deployment"> & {
    /**
     * Resource name: `workspaces/{workspace}/deployments/{deployment}`.
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
     * Current state.
     *
     * @generated from field: datastudio.v1.DeploymentState state = 3;
     */
    state: DeploymentState;
    /**
     * The release package being deployed (for Alibaba legacy DeployFile, the
     * package the vendor created).
     *
     * @generated from field: string release_package = 4;
     */
    releasePackage: string;
    /**
     * The files deployed, when known.
     *
     * @generated from field: repeated string files = 5;
     */
    files: string[];
    /**
     * The caller's request_id that started it.
     *
     * @generated from field: string request_id = 6;
     */
    requestId: string;
    /**
     * When the gateway started it.
     *
     * @generated from field: google.protobuf.Timestamp create_time = 7;
     */
    createTime?: Timestamp | undefined;
    /**
     * When the gateway last saw it change.
     *
     * @generated from field: google.protobuf.Timestamp update_time = 8;
     */
    updateTime?: Timestamp | undefined;
    /**
     * Why it failed.
     *
     * @generated from field: string error_message = 9;
     */
    errorMessage: string;
    /**
     * Startup mode used.
     *
     * @generated from field: datastudio.v1.StartupMode startup_mode = 10;
     */
    startupMode: StartupMode;
    /**
     * The vendor's asynchronous task id (Huawei asy_task_id).
     *
     * @generated from field: string vendor_task_id = 11;
     */
    vendorTaskId: string;
    /**
     * Number of vendor subtasks (Huawei asy_subtask_num).
     *
     * @generated from field: int32 vendor_subtask_count = 12;
     */
    vendorSubtaskCount: number;
    /**
     * The vendor's raw record of the package or run, with VIEW_FULL only.
     *
     * @generated from field: google.protobuf.Struct vendor_record = 13;
     */
    vendorRecord?: JsonObject | undefined;
    /**
     * The identity of the caller whose deploy call started it through this
     * gateway; empty when not known (e.g. started outside the gateway).
     *
     * @generated from field: string requested_by = 14;
     */
    requestedBy: string;
};
/**
 * Describes the message datastudio.v1.Deployment.
 * Use `create(DeploymentSchema)` to create a new message.
 */
export declare const DeploymentSchema: GenMessage<Deployment>;
/**
 * Request for GetDeployment.
 *
 * @generated from message datastudio.v1.GetDeploymentRequest
 */
export type GetDeploymentRequest = Message<"datastudio.v1.GetDeploymentRequest"> & {
    /**
     * `workspaces/{workspace}/deployments/{deployment}`.
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
 * Describes the message datastudio.v1.GetDeploymentRequest.
 * Use `create(GetDeploymentRequestSchema)` to create a new message.
 */
export declare const GetDeploymentRequestSchema: GenMessage<GetDeploymentRequest>;
/**
 * Response for GetDeployment.
 *
 * @generated from message datastudio.v1.GetDeploymentResponse
 */
export type GetDeploymentResponse = Message<"datastudio.v1.GetDeploymentResponse"> & {
    /**
     * The deployment.
     *
     * @generated from field: datastudio.v1.Deployment deployment = 1;
     */
    deployment?: Deployment | undefined;
};
/**
 * Describes the message datastudio.v1.GetDeploymentResponse.
 * Use `create(GetDeploymentResponseSchema)` to create a new message.
 */
export declare const GetDeploymentResponseSchema: GenMessage<GetDeploymentResponse>;
/**
 * Request for CancelDeployment.
 *
 * @generated from message datastudio.v1.CancelDeploymentRequest
 */
export type CancelDeploymentRequest = Message<"datastudio.v1.CancelDeploymentRequest"> & {
    /**
     * `workspaces/{workspace}/deployments/{deployment}`.
     *
     * @generated from field: string name = 1;
     */
    name: string;
};
/**
 * Describes the message datastudio.v1.CancelDeploymentRequest.
 * Use `create(CancelDeploymentRequestSchema)` to create a new message.
 */
export declare const CancelDeploymentRequestSchema: GenMessage<CancelDeploymentRequest>;
/**
 * Response for CancelDeployment.
 *
 * @generated from message datastudio.v1.CancelDeploymentResponse
 */
export type CancelDeploymentResponse = Message<"datastudio.v1.CancelDeploymentResponse"> & {
    /**
     * The deployment as the vendor reports it after the cancellation.
     *
     * @generated from field: datastudio.v1.Deployment deployment = 1;
     */
    deployment?: Deployment | undefined;
};
/**
 * Describes the message datastudio.v1.CancelDeploymentResponse.
 * Use `create(CancelDeploymentResponseSchema)` to create a new message.
 */
export declare const CancelDeploymentResponseSchema: GenMessage<CancelDeploymentResponse>;
/**
 * Request for WatchDeployment.
 *
 * @generated from message datastudio.v1.WatchDeploymentRequest
 */
export type WatchDeploymentRequest = Message<"datastudio.v1.WatchDeploymentRequest"> & {
    /**
     * `workspaces/{workspace}/deployments/{deployment}`.
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
 * Describes the message datastudio.v1.WatchDeploymentRequest.
 * Use `create(WatchDeploymentRequestSchema)` to create a new message.
 */
export declare const WatchDeploymentRequestSchema: GenMessage<WatchDeploymentRequest>;
/**
 * One message of WatchDeployment.
 *
 * @generated from message datastudio.v1.WatchDeploymentResponse
 */
export type WatchDeploymentResponse = Message<"datastudio.v1.WatchDeploymentResponse"> & {
    /**
     * The deployment as last seen.
     *
     * @generated from field: datastudio.v1.Deployment deployment = 1;
     */
    deployment?: Deployment | undefined;
};
/**
 * Describes the message datastudio.v1.WatchDeploymentResponse.
 * Use `create(WatchDeploymentResponseSchema)` to create a new message.
 */
export declare const WatchDeploymentResponseSchema: GenMessage<WatchDeploymentResponse>;
/**
 * The lifecycle state of a release package (and of its items).
 *
 * | state            | Alibaba package Status | Alibaba pipeline Status | Huawei deploy_status |
 * |------------------|------------------------|-------------------------|----------------------|
 * | READY            | 0                      | Init                    | -                    |
 * | PENDING_APPROVAL | -                      | -                       | 1                    |
 * | DEPLOYING        | (items CLONING)        | Running                 | 5                    |
 * | SUCCEEDED        | 1                      | Success                 | 2                    |
 * | FAILED           | 2                      | Fail                    | 3                    |
 * | REJECTED         | 6                      | -                       | -                    |
 * | CANCELLED        | -                      | Cancel, Termination     | -                    |
 *
 * @generated from enum datastudio.v1.ReleasePackageState
 */
export declare enum ReleasePackageState {
    /**
     * A value the vendor sent that the gateway does not know; see vendor_record.
     *
     * @generated from enum value: RELEASE_PACKAGE_STATE_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * Created, waiting to be deployed.
     *
     * @generated from enum value: RELEASE_PACKAGE_STATE_READY = 1;
     */
    READY = 1,
    /**
     * Waiting for an approver (Huawei).
     *
     * @generated from enum value: RELEASE_PACKAGE_STATE_PENDING_APPROVAL = 2;
     */
    PENDING_APPROVAL = 2,
    /**
     * Being deployed.
     *
     * @generated from enum value: RELEASE_PACKAGE_STATE_DEPLOYING = 3;
     */
    DEPLOYING = 3,
    /**
     * Deployed successfully.
     *
     * @generated from enum value: RELEASE_PACKAGE_STATE_SUCCEEDED = 4;
     */
    SUCCEEDED = 4,
    /**
     * Deployment failed.
     *
     * @generated from enum value: RELEASE_PACKAGE_STATE_FAILED = 5;
     */
    FAILED = 5,
    /**
     * Rejected by a reviewer (Alibaba).
     *
     * @generated from enum value: RELEASE_PACKAGE_STATE_REJECTED = 6;
     */
    REJECTED = 6,
    /**
     * Cancelled or terminated.
     *
     * @generated from enum value: RELEASE_PACKAGE_STATE_CANCELLED = 7;
     */
    CANCELLED = 7
}
/**
 * Describes the enum datastudio.v1.ReleasePackageState.
 */
export declare const ReleasePackageStateSchema: GenEnum<ReleasePackageState>;
/**
 * A deployment environment.
 *
 * @generated from enum datastudio.v1.Environment
 */
export declare enum Environment {
    /**
     * Not reported by the vendor.
     *
     * @generated from enum value: ENVIRONMENT_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * Local / unsubmitted (Alibaba 0).
     *
     * @generated from enum value: ENVIRONMENT_LOCAL = 1;
     */
    LOCAL = 1,
    /**
     * Development (Alibaba 1).
     *
     * @generated from enum value: ENVIRONMENT_DEVELOPMENT = 2;
     */
    DEVELOPMENT = 2,
    /**
     * Production (Alibaba 2; every Huawei package).
     *
     * @generated from enum value: ENVIRONMENT_PRODUCTION = 3;
     */
    PRODUCTION = 3
}
/**
 * Describes the enum datastudio.v1.Environment.
 */
export declare const EnvironmentSchema: GenEnum<Environment>;
/**
 * A pre-deploy check state (Alibaba CheckingStatus).
 *
 * @generated from enum datastudio.v1.CheckState
 */
export declare enum CheckState {
    /**
     * No check pending, or not reported.
     *
     * @generated from enum value: CHECK_STATE_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * A check is running (Alibaba 8).
     *
     * @generated from enum value: CHECK_STATE_RUNNING = 1;
     */
    RUNNING = 1,
    /**
     * A check failed (Alibaba 7).
     *
     * @generated from enum value: CHECK_STATE_FAILED = 2;
     */
    FAILED = 2
}
/**
 * Describes the enum datastudio.v1.CheckState.
 */
export declare const CheckStateSchema: GenEnum<CheckState>;
/**
 * Whether a job was started after its release (Huawei start_job_status).
 *
 * @generated from enum datastudio.v1.JobStartState
 */
export declare enum JobStartState {
    /**
     * Not started or not reported.
     *
     * @generated from enum value: JOB_START_STATE_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * Started (Huawei 2).
     *
     * @generated from enum value: JOB_START_STATE_SUCCEEDED = 1;
     */
    SUCCEEDED = 1,
    /**
     * Failed to start (Huawei 3).
     *
     * @generated from enum value: JOB_START_STATE_FAILED = 2;
     */
    FAILED = 2
}
/**
 * Describes the enum datastudio.v1.JobStartState.
 */
export declare const JobStartStateSchema: GenEnum<JobStartState>;
/**
 * The coarse kind of a file.
 *
 * @generated from enum datastudio.v1.FileKind
 */
export declare enum FileKind {
    /**
     * Not known.
     *
     * @generated from enum value: FILE_KIND_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * A script or code node (Alibaba file, Huawei script).
     *
     * @generated from enum value: FILE_KIND_SCRIPT = 1;
     */
    SCRIPT = 1,
    /**
     * A job / workflow (Huawei job, Alibaba workflow).
     *
     * @generated from enum value: FILE_KIND_JOB = 2;
     */
    JOB = 2,
    /**
     * A resource (Huawei task_type 3, Alibaba Data Studio resource).
     *
     * @generated from enum value: FILE_KIND_RESOURCE = 3;
     */
    RESOURCE = 3,
    /**
     * A user-defined function (Alibaba Data Studio function).
     *
     * @generated from enum value: FILE_KIND_FUNCTION = 4;
     */
    FUNCTION = 4
}
/**
 * Describes the enum datastudio.v1.FileKind.
 */
export declare const FileKindSchema: GenEnum<FileKind>;
/**
 * Whether jobs start right after they are deployed (Huawei startup_mode).
 *
 * @generated from enum datastudio.v1.StartupMode
 */
export declare enum StartupMode {
    /**
     * Deploy only, as DEPLOY_ONLY: jobs start only when asked (Huawei
     * startup_mode 0; the vendor reference advises sending 0 unless asked).
     *
     * @generated from enum value: STARTUP_MODE_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * Deploy only (Huawei startup_mode 0).
     *
     * @generated from enum value: STARTUP_MODE_DEPLOY_ONLY = 1;
     */
    DEPLOY_ONLY = 1,
    /**
     * Deploy and start jobs (Huawei startup_mode 1).
     *
     * @generated from enum value: STARTUP_MODE_DEPLOY_AND_START = 2;
     */
    DEPLOY_AND_START = 2
}
/**
 * Describes the enum datastudio.v1.StartupMode.
 */
export declare const StartupModeSchema: GenEnum<StartupMode>;
/**
 * The state of a deployment.
 *
 * @generated from enum datastudio.v1.DeploymentState
 */
export declare enum DeploymentState {
    /**
     * Not known.
     *
     * @generated from enum value: DEPLOYMENT_STATE_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * Accepted, waiting to start or for approval.
     *
     * @generated from enum value: DEPLOYMENT_STATE_PENDING = 1;
     */
    PENDING = 1,
    /**
     * Running.
     *
     * @generated from enum value: DEPLOYMENT_STATE_RUNNING = 2;
     */
    RUNNING = 2,
    /**
     * Finished successfully (terminal).
     *
     * @generated from enum value: DEPLOYMENT_STATE_SUCCEEDED = 3;
     */
    SUCCEEDED = 3,
    /**
     * Finished with a failure (terminal).
     *
     * @generated from enum value: DEPLOYMENT_STATE_FAILED = 4;
     */
    FAILED = 4,
    /**
     * Cancelled, rejected or terminated (terminal).
     *
     * @generated from enum value: DEPLOYMENT_STATE_CANCELLED = 5;
     */
    CANCELLED = 5
}
/**
 * Describes the enum datastudio.v1.DeploymentState.
 */
export declare const DeploymentStateSchema: GenEnum<DeploymentState>;
/**
 * Release packages and the deployments that push them to production.
 *
 * A release package is a bundle of file versions waiting to be, or already,
 * deployed: an Alibaba DataWorks deployment package (legacy Data Studio) or
 * pipeline run (new Data Studio), or a Huawei DataArts Factory release
 * package. Deploys are not idempotent at the vendors, so every deploy takes a
 * caller `request_id` (AIP-155): a repeat with the same id returns the first
 * result and never deploys twice.
 *
 * @generated from service datastudio.v1.ReleaseService
 */
export declare const ReleaseService: GenService<{
    /**
     * Lists release packages in a workspace, newest first.
     *
     * Alibaba: ListDeploymentPackages (2024-05-18), or ListPipelineRuns on new
     * Data Studio workspaces. Huawei: POST .../factory/release-packages.
     *
     * @generated from rpc datastudio.v1.ReleaseService.ListReleasePackages
     */
    listReleasePackages: {
        methodKind: "unary";
        input: typeof ListReleasePackagesRequestSchema;
        output: typeof ListReleasePackagesResponseSchema;
    };
    /**
     * Gets one release package with its items.
     *
     * Alibaba: GetDeploymentPackage, or GetPipelineRun + ListPipelineRunItems.
     * Huawei: GET .../factory/release-packages/{id}.
     *
     * @generated from rpc datastudio.v1.ReleaseService.GetReleasePackage
     */
    getReleasePackage: {
        methodKind: "unary";
        input: typeof GetReleasePackageRequestSchema;
        output: typeof GetReleasePackageResponseSchema;
    };
    /**
     * Deploys existing release packages (Huawei: release-packages/deploy;
     * Alibaba new Data Studio: runs each pipeline's stages in order).
     *
     * Alibaba legacy Data Studio has no operation that runs an existing package:
     * such workspaces answer FAILED_PRECONDITION and point at DeployFiles.
     *
     * @generated from rpc datastudio.v1.ReleaseService.DeployReleasePackages
     */
    deployReleasePackages: {
        methodKind: "unary";
        input: typeof DeployReleasePackagesRequestSchema;
        output: typeof DeployReleasePackagesResponseSchema;
    };
    /**
     * Deploys chosen files now (Alibaba: DeployFile per file, or
     * CreatePipelineRun(Online); Huawei: packages the files' pending items and
     * deploys that package).
     *
     * @generated from rpc datastudio.v1.ReleaseService.DeployFiles
     */
    deployFiles: {
        methodKind: "unary";
        input: typeof DeployFilesRequestSchema;
        output: typeof DeployFilesResponseSchema;
    };
    /**
     * Gets the current state of a deployment (polls the vendor once, through
     * the workspace's rate limiter).
     *
     * @generated from rpc datastudio.v1.ReleaseService.GetDeployment
     */
    getDeployment: {
        methodKind: "unary";
        input: typeof GetDeploymentRequestSchema;
        output: typeof GetDeploymentResponseSchema;
    };
    /**
     * Streams a deployment's state: the current state first, then every change,
     * and ends after a terminal state (SUCCEEDED, FAILED, CANCELLED) or when the
     * caller's deadline ends. The gateway polls the vendor with back-off under
     * the workspace's rate limits.
     *
     * @generated from rpc datastudio.v1.ReleaseService.WatchDeployment
     */
    watchDeployment: {
        methodKind: "server_streaming";
        input: typeof WatchDeploymentRequestSchema;
        output: typeof WatchDeploymentResponseSchema;
    };
    /**
     * Cancels a deployment that has not ended (a custom method: needs the
     * deploy permission, and is audited). Alibaba new Data Studio:
     * AbolishPipelineRun. Where the vendor has no way to stop a deployment
     * (Alibaba DeployFile, Huawei release-packages/deploy), or it has already
     * ended, the answer is FAILED_PRECONDITION saying why.
     *
     * @generated from rpc datastudio.v1.ReleaseService.CancelDeployment
     */
    cancelDeployment: {
        methodKind: "unary";
        input: typeof CancelDeploymentRequestSchema;
        output: typeof CancelDeploymentResponseSchema;
    };
}>;
