// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "./TestBase.sol";

/// @title Test
/// @notice A small base for Gotong's Foundry tests, standing in for forge-std (which has no current
///         release on the npm registry): everything in `TestBase`, plus the hooks Forge reads to
///         target invariant runs (`targetContracts`, `targetSelectors`, `targetSenders`, ...).
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
    address[] private _targetedSenders;
    address[] private _excludedSenders;
    address[] private _excludedContracts;

    // --- hooks Forge calls before an invariant run ---

    /// @notice Contracts an invariant run calls (all contracts deployed in `setUp` when empty).
    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    /// @notice Selectors an invariant run calls, per contract (all of them when empty).
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    /// @notice Senders an invariant run uses (random when empty).
    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }

    /// @notice Senders an invariant run never uses.
    function excludeSenders() public view returns (address[] memory) {
        return _excludedSenders;
    }

    /// @notice Contracts an invariant run never calls.
    function excludeContracts() public view returns (address[] memory) {
        return _excludedContracts;
    }

    // --- invariant targeting ---

    /// @notice Adds `target` to the contracts an invariant run calls.
    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    /// @notice Adds several contracts to the ones an invariant run calls.
    function targetContracts(address[] memory targets) internal {
        for (uint256 i; i < targets.length; ++i) {
            _targetedContracts.push(targets[i]);
        }
    }

    /// @notice Restricts an invariant run to the given selectors of `selector.addr`.
    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    /// @notice Adds `sender` to the senders an invariant run uses.
    function targetSender(address sender) internal {
        _targetedSenders.push(sender);
    }

    /// @notice Keeps `sender` out of an invariant run.
    function excludeSender(address sender) internal {
        _excludedSenders.push(sender);
    }

    /// @notice Keeps `target` out of an invariant run.
    function excludeContract(address target) internal {
        _excludedContracts.push(target);
    }
}
