import { type Transport } from "@connectrpc/connect";
import type { GatewayClients } from "./common.js";
export declare function clientsOver(transport: Transport): GatewayClients;
