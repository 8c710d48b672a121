// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PaymentChannels} from "../PaymentChannels.sol";

/// @title Stewardship
/// @notice Who may change how QuadraticFunding is wired: the account that deployed it wires
///         PaymentChannels, once (PaymentChannels needs this contract's address first, as its
///         funding pool); the steward (a DAO or multisig on a real network) designates the protocol
///         round, `protocolRoundId` (see `ProtocolFeeReserve`), and may hand stewardship on.
abstract contract Stewardship {
    // ---------------------------------------------------------------- errors

    /// @notice The steward is the zero address.
    error ZeroSteward();

    /// @notice Only the steward may do this.
    /// @param caller The account that tried.
    error NotSteward(address caller);

    /// @notice Only the account that deployed this contract may wire it to PaymentChannels.
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

    // ---------------------------------------------------------------- events

    /// @notice PaymentChannels was wired.
    /// @param paymentChannels The contract.
    event PaymentChannelsSet(address indexed paymentChannels);

    /// @notice The steward changed.
    /// @param previous The previous steward.
    /// @param steward The new steward.
    event StewardChanged(address indexed previous, address indexed steward);

    // ---------------------------------------------------------------- storage

    /// @notice The account allowed to wire PaymentChannels, once.
    address public immutable deployer;

    /// @notice PaymentChannels, whose protocol fees feed the protocol round and whose channels
    ///         measure usage. Set once after deployment (it needs this contract's address first).
    PaymentChannels public paymentChannels;

    /// @notice The account that designates the protocol round (a DAO or multisig on a real network).
    address public steward;

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
