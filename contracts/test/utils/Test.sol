// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "./TestBase.sol";

/// @title Test
/// @notice A small base for Gotong's Foundry tests, standing in for forge-std (which has no current
///         release on the npm registry): everything in `TestBase`, plus the hooks Forge reads to
///         target invariant runs (`targetContracts`, `targetSelectors`); the others it reads
///         (senders, exclusions) are left out until a suite needs them.
abstract contract Test is TestBase {
    /// @notice Marks this contract as a test contract for tools that look for it.
    bool public IS_TEST = true;

    /// @notice A contract and the selectors of it that an invariant run may call.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;

    // --- hooks Forge calls before an invariant run ---

    /// @notice Contracts an invariant run calls (all contracts deployed in `setUp` when empty).
    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    /// @notice Selectors an invariant run calls, per contract (all of them when empty).
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    // --- invariant targeting ---

    /// @notice Adds `target` to the contracts an invariant run calls.
    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    /// @notice Restricts an invariant run to the given selectors of `selector.addr`.
    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }
}
