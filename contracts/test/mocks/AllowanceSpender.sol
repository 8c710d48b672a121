// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice A contract that spends allowances for whoever calls it, the way a DEX router or a
///         multicall does: `pull` moves `amount` of `from`'s tokens to `to` under `from`'s allowance.
///         An agent wallet must never let its agent reach one through an allowance the owner gave.
contract AllowanceSpender {
    /// @notice Moves `amount` of `token` from `from` to `to` (needs `from`'s allowance for this contract).
    function pull(IERC20 token, address from, address to, uint256 amount) external {
        require(token.transferFrom(from, to, amount), "transfer failed");
    }

    /// @notice Makes arbitrary calls (a multicall).
    function multicall(address[] calldata targets, bytes[] calldata data) external {
        for (uint256 i; i < targets.length; ++i) {
            (bool ok,) = targets[i].call(data[i]);
            require(ok, "call failed");
        }
    }
}
