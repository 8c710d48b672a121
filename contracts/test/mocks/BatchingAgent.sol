// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AgentWallet} from "../../src/AgentWallet.sol";

/// @notice An agent key with code (a contract, or an EOA with an EIP-7702 delegation) that calls
///         `execute` several times in one transaction, to get around a per-call cap.
contract BatchingAgent {
    /// @notice Calls `wallet.execute(target, 0, data)` `times` times in this one transaction.
    function executeRepeatedly(AgentWallet wallet, address target, bytes calldata data, uint256 times) external {
        for (uint256 i; i < times; ++i) {
            wallet.execute(target, 0, data);
        }
    }
}
