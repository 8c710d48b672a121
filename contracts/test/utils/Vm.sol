// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Vm
/// @notice The subset of Forge's cheatcodes that Gotong's tests use. forge-std has no current
///         release on the npm registry and nothing may be downloaded, so the tests carry their own
///         interface; each declaration matches Forge's cheatcode signature exactly.
/// @dev Forge intercepts calls to `VM_ADDRESS`, the address `keccak256("hevm cheat code")`.
interface Vm {
    // --- environment ---

    /// @notice Sets `block.timestamp`.
    function warp(uint256 newTimestamp) external;

    /// @notice Sets `block.number`.
    function roll(uint256 newHeight) external;

    /// @notice Sets `block.chainid`.
    function chainId(uint256 newChainId) external;

    /// @notice Sets `block.prevrandao` (post-merge EVM versions).
    function prevrandao(uint256 newPrevrandao) external;

    /// @notice Sets the native balance of `account`.
    function deal(address account, uint256 newBalance) external;

    /// @notice Returns `block.timestamp` as the VM sees it (reliable across `warp` in invariant runs).
    function getBlockTimestamp() external view returns (uint256 timestamp);

    /// @notice Sets the runtime code of `target`.
    function etch(address target, bytes calldata newRuntimeBytecode) external;

    /// @notice Writes `value` to storage slot `slot` of `target`.
    function store(address target, bytes32 slot, bytes32 value) external;

    /// @notice Takes a snapshot of the whole EVM state.
    function snapshotState() external returns (uint256 snapshotId);

    /// @notice Restores the EVM state taken by `snapshotState`.
    function revertToState(uint256 snapshotId) external returns (bool success);

    // --- callers ---

    /// @notice Makes the next call come from `msgSender`.
    function prank(address msgSender) external;

    /// @notice Makes every following call come from `msgSender` until `stopPrank`.
    function startPrank(address msgSender) external;

    /// @notice Ends a `startPrank`.
    function stopPrank() external;

    // --- keys and labels ---

    /// @notice The address of `privateKey`.
    function addr(uint256 privateKey) external pure returns (address keyAddr);

    /// @notice Signs `digest` with `privateKey` (secp256k1, no prefix).
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);

    /// @notice Names `account` in traces.
    function label(address account, string calldata newLabel) external;

    /// @notice Formats `value` in decimal.
    function toString(uint256 value) external pure returns (string memory stringifiedValue);

    // --- expectations ---

    /// @notice Expects the next call to revert with exactly `revertData`.
    function expectRevert(bytes calldata revertData) external;

    /// @notice Expects the next call to revert with exactly the selector `revertData` and no arguments.
    function expectRevert(bytes4 revertData) external;

    /// @notice Expects the next call to revert, with any data.
    function expectRevert() external;

    /// @notice Expects the next event to match the one emitted after this call, on every topic and the data.
    function expectEmit() external;

    /// @notice As `expectEmit()`, and the event must come from `emitter`.
    function expectEmit(address emitter) external;

    /// @notice Expects the next event to match on the chosen topics and data.
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;

    /// @notice Discards the current fuzz input when `condition` is false.
    function assume(bool condition) external pure;

    // --- logs ---

    /// @notice A log recorded by `recordLogs`.
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    /// @notice Starts recording every log emitted.
    function recordLogs() external;

    /// @notice The logs recorded since `recordLogs` (or the last call), which it then forgets.
    function getRecordedLogs() external returns (Log[] memory logs);

    // --- assertions (they revert with a readable message) ---

    /// @notice Asserts that `condition` is true.
    function assertTrue(bool condition, string calldata error) external pure;

    /// @notice Asserts that `condition` is false.
    function assertFalse(bool condition, string calldata error) external pure;

    /// @notice Asserts two booleans are equal.
    function assertEq(bool left, bool right, string calldata error) external pure;

    /// @notice Asserts two unsigned integers are equal.
    function assertEq(uint256 left, uint256 right, string calldata error) external pure;

    /// @notice Asserts two signed integers are equal.
    function assertEq(int256 left, int256 right, string calldata error) external pure;

    /// @notice Asserts two addresses are equal.
    function assertEq(address left, address right, string calldata error) external pure;

    /// @notice Asserts two words are equal.
    function assertEq(bytes32 left, bytes32 right, string calldata error) external pure;

    /// @notice Asserts two strings are equal.
    function assertEq(string calldata left, string calldata right, string calldata error) external pure;

    /// @notice Asserts two byte strings are equal.
    function assertEq(bytes calldata left, bytes calldata right, string calldata error) external pure;

    /// @notice Asserts two unsigned integers differ.
    function assertNotEq(uint256 left, uint256 right, string calldata error) external pure;

    /// @notice Asserts two words differ.
    function assertNotEq(bytes32 left, bytes32 right, string calldata error) external pure;

    /// @notice Asserts `left > right`.
    function assertGt(uint256 left, uint256 right, string calldata error) external pure;

    /// @notice Asserts `left >= right`.
    function assertGe(uint256 left, uint256 right, string calldata error) external pure;

    /// @notice Asserts `left < right`.
    function assertLt(uint256 left, uint256 right, string calldata error) external pure;

    /// @notice Asserts `left <= right`.
    function assertLe(uint256 left, uint256 right, string calldata error) external pure;
}
