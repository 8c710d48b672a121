export { gatewayErrorCodes, type GatewayErrorCode } from "../protocol/errorCodes.ts";

// The gateway's codes (above); the constructors of the relay's errors live beside the core that
// throws them, in ./core/errors.ts (`ProviderRefusal`, `relayNotPrepared`, `providerUnavailable`).
