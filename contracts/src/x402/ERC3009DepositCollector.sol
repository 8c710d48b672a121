// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC3009} from "@openzeppelin/contracts/interfaces/draft-IERC3009.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IDepositCollector} from "./X402BatchSettlement.sol";

/// @title ERC3009DepositCollector
/// @notice Pulls an x402 `batch-settlement` deposit from its payer by EIP-3009
///         `receiveWithAuthorization` (to this collector, with the nonce
///         `keccak256(abi.encode(channelId, salt))`, so an authorization funds one channel only) and
///         passes it to X402BatchSettlement. It is what the published x402 EVM client signs for
///         at the canonical collector address; Gotong installs this code there on a devnet.
/// @dev Only the batch-settlement contract may call `collect`: `receiveWithAuthorization` must be
///      submitted by its `to`, so nobody can front-run a deposit into another channel, and nobody but
///      the settlement contract can make this collector spend an authorization.
contract ERC3009DepositCollector is IDepositCollector {
    using SafeERC20 for IERC20;

    /// @notice The x402 batch-settlement contract's canonical address (the only caller allowed).
    address public constant BATCH_SETTLEMENT = 0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003;

    /// @notice The caller is not the batch-settlement contract.
    /// @param caller The caller.
    error NotBatchSettlement(address caller);

    /// @notice The signature is not 65 bytes.
    /// @param length Its length.
    error InvalidSignatureLength(uint256 length);

    /// @inheritdoc IDepositCollector
    /// @dev `data` is `abi.encode(uint256 validAfter, uint256 validBefore, uint256 salt, bytes signature)`,
    ///      as the published facilitator builds it.
    function collect(address payer, address token, uint256 amount, bytes32 channelId, bytes calldata data) external {
        if (msg.sender != BATCH_SETTLEMENT) revert NotBatchSettlement(msg.sender);
        (uint256 validAfter, uint256 validBefore, uint256 salt, bytes memory signature) =
            abi.decode(data, (uint256, uint256, uint256, bytes));
        if (signature.length != 65) revert InvalidSignatureLength(signature.length);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := mload(add(signature, 0x20))
            s := mload(add(signature, 0x40))
            v := byte(0, mload(add(signature, 0x60)))
        }
        bytes32 nonce = keccak256(abi.encode(channelId, salt));
        IERC3009(token).receiveWithAuthorization(payer, address(this), amount, validAfter, validBefore, nonce, v, r, s);
        IERC20(token).safeTransfer(msg.sender, amount);
    }
}
