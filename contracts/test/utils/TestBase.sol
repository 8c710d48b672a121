// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "./Vm.sol";

/// @title TestBase
/// @notice What every test helper needs and nothing Forge treats specially: cheatcodes, `bound`,
///         named addresses and keys, signing, and assertions with messages. Invariant handlers
///         extend this; test contracts extend `Test`.
abstract contract TestBase {
    /// @notice Where Forge listens for cheatcodes: `address(uint160(uint256(keccak256("hevm cheat code"))))`.
    address internal constant VM_ADDRESS = 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D;

    /// @notice The cheatcode interface.
    Vm internal constant vm = Vm(VM_ADDRESS);

    /// @notice Order of secp256k1, the bound for valid private keys.
    uint256 internal constant SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    // --- fuzzing helpers ---

    /// @notice Maps `x` into `[min, max]`, keeping small values in place so edge cases stay likely.
    /// @param x The raw fuzz input.
    /// @param min The smallest value returned.
    /// @param max The largest value returned.
    /// @return result A value in `[min, max]`.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256 result) {
        require(min <= max, "bound: max is less than min");
        // Values already in range, and the first few values, map to themselves or the range edges.
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1;
        if (x <= 3 && size > x) return min + x;
        if (x >= type(uint256).max - 3 && size > type(uint256).max - x) return max - (type(uint256).max - x);
        if (x > max) {
            uint256 diff = x - max;
            uint256 rem = diff % size;
            if (rem == 0) return max;
            result = min + rem - 1;
        } else {
            uint256 diff = min - x;
            uint256 rem = diff % size;
            if (rem == 0) return min;
            result = max - rem + 1;
        }
    }

    /// @notice A deterministic address and its private key, labelled `name` in traces.
    function makeAddrAndKey(string memory name) internal returns (address account, uint256 privateKey) {
        privateKey = uint256(keccak256(abi.encodePacked(name))) % (SECP256K1_ORDER - 1) + 1;
        account = vm.addr(privateKey);
        vm.label(account, name);
    }

    /// @notice A deterministic address labelled `name` in traces.
    function makeAddr(string memory name) internal returns (address account) {
        (account,) = makeAddrAndKey(name);
    }

    /// @notice Signs `digest` with `privateKey` and packs it as the 65-byte `r || s || v` form.
    function signDigest(uint256 privateKey, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, digest);
        return abi.encodePacked(r, s, v);
    }

    // --- assertions ---

    function assertTrue(bool condition) internal pure {
        vm.assertTrue(condition, "expected true");
    }

    function assertTrue(bool condition, string memory message) internal pure {
        vm.assertTrue(condition, message);
    }

    function assertFalse(bool condition) internal pure {
        vm.assertFalse(condition, "expected false");
    }

    function assertFalse(bool condition, string memory message) internal pure {
        vm.assertFalse(condition, message);
    }

    function assertEq(bool left, bool right) internal pure {
        vm.assertEq(left, right, "bool not equal");
    }

    function assertEq(bool left, bool right, string memory message) internal pure {
        vm.assertEq(left, right, message);
    }

    function assertEq(uint256 left, uint256 right) internal pure {
        vm.assertEq(left, right, "uint not equal");
    }

    function assertEq(uint256 left, uint256 right, string memory message) internal pure {
        vm.assertEq(left, right, message);
    }

    function assertEq(address left, address right) internal pure {
        vm.assertEq(left, right, "address not equal");
    }

    function assertEq(address left, address right, string memory message) internal pure {
        vm.assertEq(left, right, message);
    }

    function assertEq(bytes32 left, bytes32 right) internal pure {
        vm.assertEq(left, right, "bytes32 not equal");
    }

    function assertEq(bytes32 left, bytes32 right, string memory message) internal pure {
        vm.assertEq(left, right, message);
    }

    function assertEq(string memory left, string memory right) internal pure {
        vm.assertEq(left, right, "string not equal");
    }

    function assertEq(string memory left, string memory right, string memory message) internal pure {
        vm.assertEq(left, right, message);
    }

    function assertEq(bytes memory left, bytes memory right) internal pure {
        vm.assertEq(left, right, "bytes not equal");
    }

    function assertEq(bytes memory left, bytes memory right, string memory message) internal pure {
        vm.assertEq(left, right, message);
    }

    function assertNotEq(uint256 left, uint256 right, string memory message) internal pure {
        vm.assertNotEq(left, right, message);
    }

    function assertNotEq(bytes32 left, bytes32 right, string memory message) internal pure {
        vm.assertNotEq(left, right, message);
    }

    function assertGt(uint256 left, uint256 right, string memory message) internal pure {
        vm.assertGt(left, right, message);
    }

    function assertGe(uint256 left, uint256 right, string memory message) internal pure {
        vm.assertGe(left, right, message);
    }

    function assertLt(uint256 left, uint256 right, string memory message) internal pure {
        vm.assertLt(left, right, message);
    }

    function assertLe(uint256 left, uint256 right, string memory message) internal pure {
        vm.assertLe(left, right, message);
    }
}
