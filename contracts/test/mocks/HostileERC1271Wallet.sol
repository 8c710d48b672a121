// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MockERC1271Wallet} from "./MockERC1271Wallet.sol";

/// @notice A smart-contract sender that turns hostile once it has been served: its ERC-1271
///         `isValidSignature` accepts its owner's key while `mode` is `Honest`, and otherwise
///         reverts, burns every unit of gas it is given, answers with a huge buffer, or says no
///         (like a paused agent wallet). The owner switches modes at will.
contract HostileERC1271Wallet is MockERC1271Wallet {
    /// @notice How `isValidSignature` behaves.
    enum Mode {
        Honest,
        Refuse,
        Revert,
        BurnGas,
        ReturnBomb
    }

    /// @notice The current behaviour.
    Mode public mode;

    constructor(address owner_) MockERC1271Wallet(owner_) {}

    /// @notice Switches behaviour (anyone: it is a test double).
    function setMode(Mode mode_) external {
        mode = mode_;
    }

    /// @notice The owner's key while `Honest`; otherwise the hostile behaviour chosen.
    function isValidSignature(bytes32 hash, bytes calldata signature) public view override returns (bytes4) {
        Mode m = mode;
        if (m == Mode.Revert) revert("no");
        if (m == Mode.BurnGas) {
            // Spins until the call runs out of gas.
            while (true) {}
        }
        if (m == Mode.ReturnBomb) {
            assembly ("memory-safe") {
                // The magic value first, then about 100 kB of zeros.
                mstore(0, 0x1626ba7e00000000000000000000000000000000000000000000000000000000)
                return(0, 100000)
            }
        }
        if (m == Mode.Refuse) return bytes4(0);
        return super.isValidSignature(hash, signature);
    }
}
