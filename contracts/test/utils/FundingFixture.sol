// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Fixture} from "./Fixture.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {QuadraticFunding} from "../../src/QuadraticFunding.sol";
import {AttestationRegistry} from "../../src/AttestationRegistry.sol";

/// @notice The Gotong stack wired as deployed: QuadraticFunding deployed first and used as
///         PaymentChannels' funding pool, then wired to it. Offers the steps funding tests share:
///         create a round, apply, donate, fund the pool, pay for inference (which pays protocol fees),
///         and compute CLR weights from raw totals, independently of the contract's running sums.
abstract contract FundingFixture is Fixture {
    uint64 internal constant ROUND_LENGTH = 7 days;

    QuadraticFunding internal qf;
    AttestationRegistry internal attestations;
    address internal steward;
    address internal operator;
    address internal issuer;
    /// @dev A model owned by `creator2`, beside `modelId` owned by `creator`.
    address internal creator2;
    uint256 internal modelId2;

    uint256 private _donorNonce;

    function setUp() public virtual override {
        creator2 = makeAddr("creator2");
        steward = makeAddr("steward");
        operator = makeAddr("operator");
        issuer = makeAddr("issuer");
        super.setUp();
        qf.setPaymentChannels(channels);
        attestations = new AttestationRegistry();

        modelId2 = _registerOfferedModel(creator2, ROYALTY_BPS);
    }

    /// @dev QuadraticFunding, deployed before PaymentChannels so the channels pay their fees to it.
    function _deployFundingPool() internal override returns (address) {
        qf = new QuadraticFunding(models, steward);
        vm.label(address(qf), "qf");
        return address(qf);
    }

    // ------------------------------------------------------------ rounds

    /// @dev Default round parameters: usd, applications and donations both open now for a week,
    ///      no cap, no usage weight, no donor cap, no attestation.
    function _params() internal view returns (QuadraticFunding.RoundParams memory params) {
        uint64 now_ = uint64(block.timestamp);
        params.token = IERC20(address(usd));
        params.applicationStart = now_;
        params.applicationEnd = now_ + ROUND_LENGTH;
        params.donationStart = now_;
        params.donationEnd = now_ + ROUND_LENGTH;
        params.matchingCapBps = 10_000;
        params.issuers = new address[](0);
    }

    /// @dev The default round parameters, with donors required to hold an attestation from `issuer`.
    function _attestedParams() internal view returns (QuadraticFunding.RoundParams memory params) {
        params = _params();
        params.attestations = attestations;
        params.issuers = new address[](1);
        params.issuers[0] = issuer;
    }

    /// @dev Creates a round as `operator`.
    function _createRound(QuadraticFunding.RoundParams memory params) internal returns (uint256 roundId) {
        vm.prank(operator);
        roundId = qf.createRound(params);
    }

    /// @dev Creates a default round as `operator`.
    function _createRound() internal returns (uint256) {
        return _createRound(_params());
    }

    /// @dev Applies with `model` as its owner.
    function _applyModel(uint256 roundId, address owner, uint256 model) internal returns (uint256 projectId) {
        vm.prank(owner);
        projectId = qf.applyProject(roundId, model);
    }

    /// @dev Applies as the address `account`.
    function _applyAddress(uint256 roundId, address account) internal returns (uint256 projectId) {
        vm.prank(account);
        projectId = qf.applyProject(roundId, 0);
    }

    /// @dev Mints `amount` to `donor` and donates it.
    function _donate(uint256 roundId, uint256 projectId, address donor, uint256 amount) internal returns (uint256) {
        usd.mint(donor, amount);
        vm.startPrank(donor);
        usd.approve(address(qf), amount);
        uint256 received = qf.donate(roundId, projectId, amount);
        vm.stopPrank();
        return received;
    }

    /// @dev A fresh donor address.
    function _newDonor() internal returns (address) {
        return makeAddr(string.concat("donor", vm.toString(++_donorNonce)));
    }

    /// @dev Mints `amount` to a funder and adds it to the round's pool.
    function _fundPool(uint256 roundId, uint256 amount) internal {
        address funder = makeAddr("funder");
        usd.mint(funder, amount);
        vm.startPrank(funder);
        usd.approve(address(qf), amount);
        qf.fundPool(roundId, amount);
        vm.stopPrank();
    }

    /// @dev Moves time to the end of the round's donation window (finalization allowed from here).
    function _endRound(uint256 roundId) internal {
        vm.warp(qf.getRound(roundId).donationEnd);
    }

    /// @dev Ends and finalizes a round.
    function _finalize(uint256 roundId) internal returns (uint256 allocated) {
        _endRound(roundId);
        allocated = qf.finalize(roundId);
    }

    // ------------------------------------------------------------ inference

    /// @dev `payer` (with `payerKey`) pays `amount` for inference of `model` served by `provider`:
    ///      opens (or tops up) its channel and the provider redeems the new cumulative total. Returns
    ///      the channel id.
    function _payInference(address payer, uint256 payerKey, uint256 model, uint256 amount)
        internal
        returns (bytes32 channelId)
    {
        channelId = channels.channelIdOf(payer, provider, model, 0);
        PaymentChannels.Channel memory channel = channels.getChannel(channelId);
        usd.mint(payer, amount);
        vm.startPrank(payer);
        usd.approve(address(channels), amount);
        if (channel.deposit == 0) channels.open(provider, model, 0, amount);
        else channels.topUp(channelId, amount);
        vm.stopPrank();
        channel = channels.getChannel(channelId);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, channel.epoch, channel.redeemed + amount);
        bytes memory signature = _sign(payerKey, voucher);
        vm.prank(provider);
        channels.redeem(voucher, signature);
    }

    // ------------------------------------------------------------ reference maths

    /// @dev One project's CLR weight from its contributors' raw totals, computed from scratch:
    ///      `(sum sqrt(min(c, cap) * SCALE))^2 / SCALE - sum min(c, cap)`, floored at 0.
    function _weightFromTotals(uint256[] memory totals, uint256 donorCap) internal pure returns (uint256) {
        uint256 sqrtSum;
        uint256 counted;
        for (uint256 i; i < totals.length; ++i) {
            uint256 c = donorCap == 0 ? totals[i] : Math.min(totals[i], donorCap);
            sqrtSum += Math.sqrt(c * 1e18);
            counted += c;
        }
        uint256 square = sqrtSum * sqrtSum / 1e18;
        return square > counted ? square - counted : 0;
    }

    /// @dev The token balance the funding contract holds.
    function _held() internal view returns (uint256) {
        return usd.balanceOf(address(qf));
    }
}
