// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice A smart-contract sender that turns hostile once it has been served: its ERC-1271
///         `isValidSignature` accepts its owner's key while `mode` is `Honest`, and otherwise
///         reverts, burns every unit of gas it is given, answers with a huge buffer, or says no
///         (like a paused agent wallet). The owner switches modes at will.
contract HostileERC1271Wallet is IERC1271 {
    /// @notice How `isValidSignature` behaves.
    enum Mode {
        Honest,
        Refuse,
        Revert,
        BurnGas,
        ReturnBomb
    }

    /// @notice The key holder.
    address public immutable owner;

    /// @notice The current behaviour.
    Mode public mode;

    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice Switches behaviour (anyone: it is a test double).
    function setMode(Mode mode_) external {
        mode = mode_;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
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
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        return err == ECDSA.RecoverError.NoError && recovered == owner ? IERC1271.isValidSignature.selector : bytes4(0);
    }

    /// @notice Makes a call as the wallet (owner only).
    function execute(address target, bytes calldata data) external returns (bytes memory result) {
        require(msg.sender == owner, "not owner");
        bool ok;
        (ok, result) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }

    /// @notice Approves `spender` for `token` (owner only).
    function approve(IERC20 token, address spender, uint256 amount) external {
        require(msg.sender == owner, "not owner");
        token.approve(spender, amount);
    }
}
