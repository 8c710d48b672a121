// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title X402Payee
/// @notice The `payTo` of one (provider, model) pair for x402 payments: an EIP-3009 authorization
///         names it as `to`, so whoever submits the authorization (the provider, any facilitator, or
///         a front-runner) can only move the money here, and from here only its splitter can move
///         it, and only along the split. Deployed by X402Splitter as a minimal clone at an address
///         derived from the pair, so it can be paid before it exists.
contract X402Payee {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- errors

    /// @notice Only the splitter that created this payee may pay out of it.
    /// @param caller The account that tried.
    error NotSplitter(address caller);

    // ---------------------------------------------------------------- storage

    /// @notice The X402Splitter that deployed this payee's implementation (shared by its clones,
    ///         since an immutable lives in the code they delegate to).
    address public immutable splitter;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys the implementation; its deployer becomes every clone's splitter.
    constructor() {
        splitter = msg.sender;
    }

    // ---------------------------------------------------------------- external

    /// @notice Pays the three shares of a split out of this payee's balance.
    /// @param token The token paid.
    /// @param royaltyTo The model's owner.
    /// @param royalty The royalty share.
    /// @param fee The protocol fee, sent to the splitter, which credits it to the funding pool.
    /// @param provider The provider this payee belongs to.
    /// @param providerShare The provider's share.
    function payOut(IERC20 token, address royaltyTo, uint256 royalty, uint256 fee, address provider, uint256 providerShare)
        external
    {
        if (msg.sender != splitter) revert NotSplitter(msg.sender);
        if (royalty != 0) token.safeTransfer(royaltyTo, royalty);
        if (fee != 0) token.safeTransfer(splitter, fee);
        if (providerShare != 0) token.safeTransfer(provider, providerShare);
    }
}
