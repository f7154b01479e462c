import type { GenEnum, GenFile, GenMessage } from "@bufbuild/protobuf/codegenv2";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Message } from "@bufbuild/protobuf";
/**
 * Describes the file datastudio/v1/common.proto.
 */
export declare const file_datastudio_v1_common: GenFile;
/**
 * A person or account as the vendor reports it.
 *
 * Alibaba reports account UIDs only (`id`); Huawei reports both a user id and
 * a user name (`display_name`).
 *
 * @generated from message datastudio.v1.User
 */
export type User = Message<"datastudio.v1.User"> & {
    /**
     * The vendor's account or user id (Alibaba account UID, Huawei user id).
     *
     * @generated from field: string id = 1;
     */
    id: string;
    /**
     * The user name where the vendor has one (Huawei).
     *
     * @generated from field: string display_name = 2;
     */
    displayName: string;
};
/**
 * Describes the message datastudio.v1.User.
 * Use `create(UserSchema)` to create a new message.
 */
export declare const UserSchema: GenMessage<User>;
/**
 * A user as a filter value. Vendors filter users by different keys: Alibaba
 * by account UID, Huawei by user name. A filter value says which it is; a
 * key the workspace's vendor cannot filter by natively is applied by the
 * gateway or rejected, as the workspace's capabilities state.
 *
 * @generated from message datastudio.v1.UserRef
 */
export type UserRef = Message<"datastudio.v1.UserRef"> & {
    /**
     * Which key the value is.
     *
     * @generated from oneof datastudio.v1.UserRef.key
     */
    key: {
        /**
         * The vendor's account or user id.
         *
         * @generated from field: string id = 1;
         */
        value: string;
        case: "id";
    } | {
        /**
         * The user name.
         *
         * @generated from field: string display_name = 2;
         */
        value: string;
        case: "displayName";
    } | {
        case: undefined;
        value?: undefined;
    };
};
/**
 * Describes the message datastudio.v1.UserRef.
 * Use `create(UserRefSchema)` to create a new message.
 */
export declare const UserRefSchema: GenMessage<UserRef>;
/**
 * A closed time interval; either end may be left unset for "unbounded".
 *
 * @generated from message datastudio.v1.TimeRange
 */
export type TimeRange = Message<"datastudio.v1.TimeRange"> & {
    /**
     * Inclusive lower bound.
     *
     * @generated from field: google.protobuf.Timestamp start_time = 1;
     */
    startTime?: Timestamp | undefined;
    /**
     * Inclusive upper bound.
     *
     * @generated from field: google.protobuf.Timestamp end_time = 2;
     */
    endTime?: Timestamp | undefined;
};
/**
 * Describes the message datastudio.v1.TimeRange.
 * Use `create(TimeRangeSchema)` to create a new message.
 */
export declare const TimeRangeSchema: GenMessage<TimeRange>;
/**
 * The cloud data-development service behind a workspace.
 *
 * @generated from enum datastudio.v1.Vendor
 */
export declare enum Vendor {
    /**
     * Not set; never returned by the gateway.
     *
     * @generated from enum value: VENDOR_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * Alibaba Cloud DataWorks.
     *
     * @generated from enum value: VENDOR_ALIBABA_DATAWORKS = 1;
     */
    ALIBABA_DATAWORKS = 1,
    /**
     * Huawei Cloud DataArts Studio (DataArts Factory).
     *
     * @generated from enum value: VENDOR_HUAWEI_DATAARTS = 2;
     */
    HUAWEI_DATAARTS = 2
}
/**
 * Describes the enum datastudio.v1.Vendor.
 */
export declare const VendorSchema: GenEnum<Vendor>;
/**
 * How much of a resource a read returns.
 *
 * @generated from enum datastudio.v1.View
 */
export declare enum View {
    /**
     * The default: VIEW_BASIC.
     *
     * @generated from enum value: VIEW_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * Neutral fields only.
     *
     * @generated from enum value: VIEW_BASIC = 1;
     */
    BASIC = 1,
    /**
     * Neutral fields plus the vendor's raw record in `vendor_record`.
     *
     * @generated from enum value: VIEW_FULL = 2;
     */
    FULL = 2
}
/**
 * Describes the enum datastudio.v1.View.
 */
export declare const ViewSchema: GenEnum<View>;
/**
 * What a change did to a file.
 *
 * @generated from enum datastudio.v1.ChangeType
 */
export declare enum ChangeType {
    /**
     * Unknown or not reported by the vendor.
     *
     * @generated from enum value: CHANGE_TYPE_UNSPECIFIED = 0;
     */
    UNSPECIFIED = 0,
    /**
     * The file was created (Alibaba CREATE / 0, Huawei update_type 1).
     *
     * @generated from enum value: CHANGE_TYPE_ADDED = 1;
     */
    ADDED = 1,
    /**
     * The file was modified (Alibaba UPDATE / 1, Huawei update_type 2).
     *
     * @generated from enum value: CHANGE_TYPE_MODIFIED = 2;
     */
    MODIFIED = 2,
    /**
     * The file was deleted (Alibaba DELETE / 2, Huawei update_type 3).
     *
     * @generated from enum value: CHANGE_TYPE_DELETED = 3;
     */
    DELETED = 3
}
/**
 * Describes the enum datastudio.v1.ChangeType.
 */
export declare const ChangeTypeSchema: GenEnum<ChangeType>;
