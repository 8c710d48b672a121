// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PaymentChannels} from "../PaymentChannels.sol";
import {IProtocolFeeSource} from "./IProtocolFeeSource.sol";

/// @title Stewardship
/// @notice Who may change how QuadraticFunding is wired: the account that deployed it wires
///         PaymentChannels, once (PaymentChannels needs this contract's address first, as its
///         funding pool), and then X402Splitter, once (it takes PaymentChannels' terms, so it is
///         deployed after it); the steward (a DAO or multisig on a real network) designates the
///         protocol round, `protocolRoundId` (see `ProtocolFeeReserve`), and may hand stewardship on.
abstract contract Stewardship {
    // ---------------------------------------------------------------- errors

    /// @notice The steward is the zero address.
    error ZeroSteward();

    /// @notice Only the steward may do this.
    /// @param caller The account that tried.
    error NotSteward(address caller);

    /// @notice Only the account that deployed this contract may wire it (PaymentChannels, X402Splitter).
    /// @param caller The account that tried.
    error NotDeployer(address caller);

    /// @notice PaymentChannels is already wired.
    /// @param paymentChannels The contract already wired.
    error PaymentChannelsAlreadySet(address paymentChannels);

    /// @notice The PaymentChannels given does not credit its protocol fee to this contract.
    /// @param fundingPool The account it credits.
    error NotFundingPoolOf(address fundingPool);

    /// @notice PaymentChannels is not wired yet, and this needs it.
    error PaymentChannelsNotSet();

    /// @notice X402Splitter is already wired.
    /// @param x402Splitter The contract already wired.
    error X402SplitterAlreadySet(address x402Splitter);

    /// @notice ServingVerification is already wired.
    /// @param servingVerification The contract already wired.
    error ServingVerificationAlreadySet(address servingVerification);

    /// @notice The X402Splitter given pays its fees in another token than PaymentChannels, so its
    ///         fees could not fund the protocol round (which is in PaymentChannels' token).
    /// @param token The splitter's token.
    /// @param feeToken PaymentChannels' token.
    error FeeSourceTokenMismatch(address token, address feeToken);

    // ---------------------------------------------------------------- events

    /// @notice PaymentChannels was wired.
    /// @param paymentChannels The contract.
    event PaymentChannelsSet(address indexed paymentChannels);

    /// @notice X402Splitter was wired: its protocol fees are collected with PaymentChannels'.
    /// @param x402Splitter The contract.
    event X402SplitterSet(address indexed x402Splitter);

    /// @notice ServingVerification was wired: the funding share of slashed stake is collected with
    ///         the protocol fees.
    /// @param servingVerification The contract.
    event ServingVerificationSet(address indexed servingVerification);

    /// @notice The steward changed.
    /// @param previous The previous steward.
    /// @param steward The new steward.
    event StewardChanged(address indexed previous, address indexed steward);

    // ---------------------------------------------------------------- storage

    /// @notice The account allowed to wire PaymentChannels and X402Splitter, each once.
    address public immutable deployer;

    /// @notice PaymentChannels, whose protocol fees feed the protocol round and whose channels
    ///         measure usage. Set once after deployment (it needs this contract's address first).
    PaymentChannels public paymentChannels;

    /// @notice The account that designates the protocol round (a DAO or multisig on a real network).
    address public steward;

    /// @notice X402Splitter, whose protocol fees (from x402 payments) feed the protocol round as
    ///         PaymentChannels' do. Zero until wired (a deployment without x402).
    IProtocolFeeSource public x402Splitter;

    /// @notice ServingVerification, which credits the funding share of every slash here, as a fee
    ///         source does. Zero until wired (a deployment without verified serving).
    IProtocolFeeSource public servingVerification;

    /// @notice The round protocol fees go to while it is not finalized (0: none yet); the steward
    ///         designates it with `setProtocolRound` (see `ProtocolFeeReserve`).
    uint256 public protocolRoundId;

    // ---------------------------------------------------------------- constructor

    /// @param steward_ The account that designates the protocol round; must not be zero.
    constructor(address steward_) {
        if (steward_ == address(0)) revert ZeroSteward();
        steward = steward_;
        deployer = msg.sender;
        emit StewardChanged(address(0), steward_);
    }

    // ---------------------------------------------------------------- external

    /// @notice Wires PaymentChannels, once. It must credit its protocol fee to this contract.
    /// @param paymentChannels_ The channels contract.
    function setPaymentChannels(PaymentChannels paymentChannels_) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (address(paymentChannels) != address(0)) revert PaymentChannelsAlreadySet(address(paymentChannels));
        address pool = paymentChannels_.fundingPool();
        if (pool != address(this)) revert NotFundingPoolOf(pool);
        paymentChannels = paymentChannels_;
        emit PaymentChannelsSet(address(paymentChannels_));
    }

    /// @notice Wires X402Splitter, once, after PaymentChannels. It must credit its protocol fee to
    ///         this contract and be paid in PaymentChannels' token. Only the deployer may, so nobody
    ///         can make collection call a contract of their choosing.
    /// @param splitter The splitter.
    function setX402Splitter(IProtocolFeeSource splitter) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (address(x402Splitter) != address(0)) revert X402SplitterAlreadySet(address(x402Splitter));
        address feeToken = address(_channels().token());
        address pool = splitter.fundingPool();
        if (pool != address(this)) revert NotFundingPoolOf(pool);
        address token = address(splitter.token());
        if (token != feeToken) revert FeeSourceTokenMismatch(token, feeToken);
        x402Splitter = splitter;
        emit X402SplitterSet(address(splitter));
    }

    /// @notice Wires ServingVerification, once, after PaymentChannels, with the same checks as
    ///         `setX402Splitter`: it must credit this contract and pay in PaymentChannels' token.
    /// @param source The verification contract.
    function setServingVerification(IProtocolFeeSource source) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (address(servingVerification) != address(0)) {
            revert ServingVerificationAlreadySet(address(servingVerification));
        }
        address feeToken = address(_channels().token());
        address pool = source.fundingPool();
        if (pool != address(this)) revert NotFundingPoolOf(pool);
        address token = address(source.token());
        if (token != feeToken) revert FeeSourceTokenMismatch(token, feeToken);
        servingVerification = source;
        emit ServingVerificationSet(address(source));
    }

    /// @notice Hands stewardship to another account.
    /// @param steward_ The new steward; must not be zero.
    function setSteward(address steward_) external {
        if (msg.sender != steward) revert NotSteward(msg.sender);
        if (steward_ == address(0)) revert ZeroSteward();
        emit StewardChanged(steward, steward_);
        steward = steward_;
    }

    // ---------------------------------------------------------------- internal

    /// @dev PaymentChannels, reverting with `PaymentChannelsNotSet` before it is wired.
    function _channels() internal view returns (PaymentChannels channels) {
        channels = paymentChannels;
        if (address(channels) == address(0)) revert PaymentChannelsNotSet();
    }
}
