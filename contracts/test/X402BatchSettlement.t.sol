// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

import {Fixture} from "./utils/Fixture.sol";
import {Eip3009Signing} from "./utils/Eip3009Signing.sol";
import {X402Splitter, IPaymentTerms} from "../src/X402Splitter.sol";
import {X402BatchSettlement} from "../src/x402/X402BatchSettlement.sol";
import {ERC3009DepositCollector} from "../src/x402/ERC3009DepositCollector.sol";
import {ERC3009} from "@openzeppelin/contracts/token/ERC20/extensions/draft-ERC3009.sol";
import {RevenueSplit} from "../src/libraries/RevenueSplit.sol";

/// @notice X402BatchSettlement and its ERC-3009 collector installed at the canonical x402
///         addresses (as Gotong's devnet does), paying an X402Splitter payee that splits like a redeem.
contract X402BatchSettlementTest is Fixture, Eip3009Signing {
    address internal constant BATCH = 0x4020074e9dF2ce1deE5A9C1b5c3f541D02a10003;
    address internal constant COLLECTOR = 0x4020806089470a89826cB9fB1f4059150b550004;

    X402BatchSettlement internal batch = X402BatchSettlement(BATCH);
    X402Splitter internal splitter;
    address internal payee;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Deposited(bytes32 indexed channelId, address indexed payer, uint128 amount, uint128 balance);
    event Claimed(bytes32 indexed channelId, address indexed receiver, uint128 claimed, uint128 totalClaimed);
    event Settled(address indexed receiver, address indexed token, address indexed sender, uint128 amount);

    function setUp() public override {
        super.setUp();
        vm.etch(BATCH, address(new X402BatchSettlement()).code);
        vm.etch(COLLECTOR, address(new ERC3009DepositCollector()).code);
        splitter = new X402Splitter(IPaymentTerms(address(channels)));
        payee = splitter.payeeOf(provider, modelId);
        usd.mint(sender, 1_000_000e6);
    }

    // ---------------------------------------------------------------- helpers

    function _config(bytes32 salt) internal view returns (X402BatchSettlement.ChannelConfig memory) {
        return X402BatchSettlement.ChannelConfig(sender, sender, payee, provider, address(usd), 900, salt);
    }

    /// @dev The channel id from first principles (EIP-712 over the canonical domain), as the client computes it.
    function _channelId(X402BatchSettlement.ChannelConfig memory c) internal view returns (bytes32) {
        bytes32 typehash = keccak256(
            "ChannelConfig(address payer,address payerAuthorizer,address receiver,address receiverAuthorizer,address token,uint40 withdrawDelay,bytes32 salt)"
        );
        bytes32 structHash = keccak256(
            abi.encode(typehash, c.payer, c.payerAuthorizer, c.receiver, c.receiverAuthorizer, c.token, c.withdrawDelay, c.salt)
        );
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), structHash));
    }

    function _domainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("x402 Batch Settlement"),
                keccak256("1"),
                block.chainid,
                BATCH
            )
        );
    }

    /// @dev Deposits `amount` by a signed `receiveWithAuthorization` to the collector, as the published client signs it.
    function _deposit(X402BatchSettlement.ChannelConfig memory c, uint128 amount, uint256 salt) internal {
        bytes memory data = _collectorData(c, amount, salt, senderKey);
        batch.deposit(c, amount, COLLECTOR, data);
    }

    function _collectorData(X402BatchSettlement.ChannelConfig memory c, uint128 amount, uint256 salt, uint256 key)
        internal
        view
        returns (bytes memory)
    {
        bytes32 nonce = keccak256(abi.encode(_channelId(c), salt));
        Authorization memory a = Authorization(c.payer, COLLECTOR, amount, 0, block.timestamp + 60, nonce);
        Signature memory s = _signAuthorization(key, address(usd), usd.name(), RECEIVE_TYPEHASH, a);
        return abi.encode(uint256(0), a.validBefore, salt, abi.encodePacked(s.r, s.s, s.v));
    }

    function _voucherSig(uint256 key, bytes32 channelId, uint128 maxClaimable) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, batch.getVoucherDigest(channelId, maxClaimable));
        return abi.encodePacked(r, s, v);
    }

    function _claims(X402BatchSettlement.ChannelConfig memory c, uint128 maxClaimable, uint128 total)
        internal
        view
        returns (X402BatchSettlement.VoucherClaim[] memory claims)
    {
        claims = new X402BatchSettlement.VoucherClaim[](1);
        claims[0] = X402BatchSettlement.VoucherClaim(
            X402BatchSettlement.Voucher(c, maxClaimable), _voucherSig(senderKey, _channelId(c), maxClaimable), total
        );
    }

    function _authorize(uint256 key, X402BatchSettlement.VoucherClaim[] memory claims) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, batch.getClaimBatchDigest(claims));
        return abi.encodePacked(r, s, v);
    }

    // ---------------------------------------------------------------- deposit

    function test_getChannelId_isTheEip712HashOfTheConfigUnderTheCanonicalDomain() public view {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        assertEq(batch.getChannelId(c), _channelId(c));
        assertEq(
            batch.CHANNEL_CONFIG_TYPEHASH(),
            keccak256(
                "ChannelConfig(address payer,address payerAuthorizer,address receiver,address receiverAuthorizer,address token,uint40 withdrawDelay,bytes32 salt)"
            )
        );
    }

    function test_deposit_pullsTheAuthorizationThroughTheCollectorIntoTheChannel() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        bytes32 id = _channelId(c);
        vm.expectEmit(address(usd));
        emit Transfer(sender, COLLECTOR, 5e6);
        vm.expectEmit(address(usd));
        emit Transfer(COLLECTOR, BATCH, 5e6);
        vm.expectEmit(BATCH);
        emit Deposited(id, sender, 5e6, 5e6);
        vm.prank(stranger); // anyone may submit it
        _deposit(c, 5e6, 1);
        (uint128 balance, uint128 claimed) = batch.channels(id);
        assertEq(balance, 5e6);
        assertEq(claimed, 0);
        assertEq(usd.balanceOf(BATCH), 5e6);
        _deposit(c, 2e6, 2);
        (balance,) = batch.channels(id);
        assertEq(balance, 7e6);
    }

    function test_deposit_revertsWhenTheAuthorizationIsReused() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        bytes memory data = _collectorData(c, 5e6, 1, senderKey);
        batch.deposit(c, 5e6, COLLECTOR, data);
        bytes32 nonce = keccak256(abi.encode(_channelId(c), uint256(1)));
        vm.expectRevert(abi.encodeWithSelector(ERC3009.ERC3009UsedAuthorization.selector, sender, nonce));
        batch.deposit(c, 5e6, COLLECTOR, data);
    }

    function test_deposit_revertsWhenTheAuthorizationIsForAnotherChannel() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        bytes memory data = _collectorData(c, 5e6, 1, senderKey);
        // The nonce binds the authorization to its channel: another config (salt) recovers another signer.
        vm.expectRevert(ERC3009.ERC3009InvalidSignature.selector);
        batch.deposit(_config(bytes32(uint256(1))), 5e6, COLLECTOR, data);
    }

    function test_deposit_revertsWhenSignedByAnotherKey() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        bytes memory data = _collectorData(c, 5e6, 1, providerKey);
        vm.expectRevert(ERC3009.ERC3009InvalidSignature.selector);
        batch.deposit(c, 5e6, COLLECTOR, data);
    }

    function test_deposit_revertsWhenTheWithdrawDelayIsOutOfRange() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        c.withdrawDelay = 899;
        vm.expectRevert(abi.encodeWithSelector(X402BatchSettlement.WithdrawDelayOutOfRange.selector, uint40(899)));
        batch.deposit(c, 5e6, COLLECTOR, "");
    }

    function test_collect_revertsUnlessCalledByTheBatchSettlementContract() public {
        vm.expectRevert(abi.encodeWithSelector(ERC3009DepositCollector.NotBatchSettlement.selector, stranger));
        vm.prank(stranger);
        ERC3009DepositCollector(COLLECTOR).collect(sender, address(usd), 1, bytes32(0), "");
    }

    // ---------------------------------------------------------------- claim and settle

    function test_claimAndSettle_payTheReceiverWhichSplitsLikeARedeem() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        bytes32 id = _channelId(c);
        _deposit(c, 10e6, 1);
        // The latest voucher covers the last request's worst case; the provider claims what it served.
        X402BatchSettlement.VoucherClaim[] memory claims = _claims(c, 3_456_789, 1_234_567);
        bytes memory sig = _authorize(providerKey, claims);
        vm.expectEmit(BATCH);
        emit Claimed(id, payee, 1_234_567, 1_234_567);
        vm.prank(stranger);
        batch.claimWithSignature(claims, sig);
        (uint128 total, uint128 settled) = batch.receivers(payee, address(usd));
        assertEq(total, 1_234_567);
        assertEq(settled, 0);

        vm.expectEmit(address(usd));
        emit Transfer(BATCH, payee, 1_234_567);
        vm.expectEmit(BATCH);
        emit Settled(payee, address(usd), stranger, 1_234_567);
        vm.prank(stranger);
        batch.settle(payee, address(usd));

        (uint256 royalty, uint256 fee, uint256 providerShare) = RevenueSplit.split(1_234_567, ROYALTY_BPS, FEE_BPS);
        uint256 providerBefore = usd.balanceOf(provider);
        (uint256 r, uint256 f, uint256 p) = splitter.split(provider, modelId);
        assertEq(r, royalty);
        assertEq(f, fee);
        assertEq(p, providerShare);
        assertEq(usd.balanceOf(creator), royalty);
        assertEq(splitter.earnings(fundingPool), fee);
        assertEq(usd.balanceOf(provider) - providerBefore, providerShare);
        assertEq(royalty + fee + providerShare, 1_234_567);
    }

    function test_claimAndSettle_inOneMulticall() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        _deposit(c, 10e6, 1);
        X402BatchSettlement.VoucherClaim[] memory claims = _claims(c, 2e6, 2e6);
        bytes[] memory calls = new bytes[](2);
        calls[0] = abi.encodeCall(X402BatchSettlement.claimWithSignature, (claims, _authorize(providerKey, claims)));
        calls[1] = abi.encodeCall(X402BatchSettlement.settle, (payee, address(usd)));
        batch.multicall(calls);
        assertEq(usd.balanceOf(payee), 2e6);
    }

    function test_claim_isCumulativeAndAStaleClaimIsANoop() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        _deposit(c, 10e6, 1);
        X402BatchSettlement.VoucherClaim[] memory first = _claims(c, 3e6, 2e6);
        batch.claimWithSignature(first, _authorize(providerKey, first));
        X402BatchSettlement.VoucherClaim[] memory second = _claims(c, 6e6, 5e6);
        batch.claimWithSignature(second, _authorize(providerKey, second));
        batch.claimWithSignature(first, _authorize(providerKey, first)); // replayed: nothing more
        (, uint128 claimed) = batch.channels(_channelId(c));
        assertEq(claimed, 5e6);
        (uint128 total,) = batch.receivers(payee, address(usd));
        assertEq(total, 5e6);
    }

    function test_claim_revertsWhenTheVoucherIsSignedByAnotherKey() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        _deposit(c, 10e6, 1);
        X402BatchSettlement.VoucherClaim[] memory claims = _claims(c, 2e6, 2e6);
        claims[0].signature = _voucherSig(providerKey, _channelId(c), 2e6);
        bytes memory sig = _authorize(providerKey, claims);
        vm.expectRevert(abi.encodeWithSelector(X402BatchSettlement.InvalidVoucherSignature.selector, _channelId(c)));
        batch.claimWithSignature(claims, sig);
    }

    function test_claim_revertsWhenTheBatchIsNotSignedByTheReceiverAuthorizer() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        _deposit(c, 10e6, 1);
        X402BatchSettlement.VoucherClaim[] memory claims = _claims(c, 2e6, 2e6);
        bytes memory sig = _authorize(senderKey, claims);
        vm.expectRevert(abi.encodeWithSelector(X402BatchSettlement.InvalidAuthorizerSignature.selector, provider));
        batch.claimWithSignature(claims, sig);
        vm.expectRevert(abi.encodeWithSelector(X402BatchSettlement.NotReceiverAuthorizer.selector, stranger));
        vm.prank(stranger);
        batch.claim(claims);
        vm.prank(provider);
        batch.claim(claims);
    }

    function test_claim_revertsBeyondTheVoucherOrTheBalance() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        _deposit(c, 10e6, 1);
        X402BatchSettlement.VoucherClaim[] memory claims = _claims(c, 2e6, 2e6 + 1);
        bytes memory sig = _authorize(providerKey, claims);
        vm.expectRevert(abi.encodeWithSelector(X402BatchSettlement.ClaimExceedsVoucher.selector, uint128(2e6 + 1), uint128(2e6)));
        batch.claimWithSignature(claims, sig);
        claims = _claims(c, 20e6, 11e6);
        sig = _authorize(providerKey, claims);
        vm.expectRevert(abi.encodeWithSelector(X402BatchSettlement.ClaimExceedsBalance.selector, uint128(11e6), uint128(10e6)));
        batch.claimWithSignature(claims, sig);
    }

    function test_settle_revertsWhenNothingIsClaimedAndUnpaid() public {
        vm.expectRevert(abi.encodeWithSelector(X402BatchSettlement.NothingToSettle.selector, payee, address(usd)));
        batch.settle(payee, address(usd));
    }

    // ---------------------------------------------------------------- withdraw and refund

    function test_withdraw_paysTheUnclaimedBalanceAfterTheDelay() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        bytes32 id = _channelId(c);
        _deposit(c, 10e6, 1);
        vm.prank(sender);
        batch.initiateWithdraw(c, 10e6);
        vm.expectRevert(abi.encodeWithSelector(X402BatchSettlement.WithdrawalNotReady.selector, block.timestamp + 900));
        batch.finalizeWithdraw(c);
        // The receiver claims its latest voucher during the delay; the payer gets only the rest.
        X402BatchSettlement.VoucherClaim[] memory claims = _claims(c, 4e6, 3e6);
        batch.claimWithSignature(claims, _authorize(providerKey, claims));
        vm.warp(block.timestamp + 900);
        uint256 before = usd.balanceOf(sender);
        batch.finalizeWithdraw(c);
        assertEq(usd.balanceOf(sender) - before, 7e6);
        (uint128 balance, uint128 claimed) = batch.channels(id);
        assertEq(balance, 3e6);
        assertEq(claimed, 3e6);
        batch.settle(payee, address(usd));
        assertEq(usd.balanceOf(BATCH), 0);
    }

    function test_initiateWithdraw_revertsUnlessThePayerCalls() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(X402BatchSettlement.NotPayer.selector, stranger));
        vm.prank(stranger);
        batch.initiateWithdraw(c, 1);
    }

    function test_refundWithSignature_paysBackUnclaimedOncePerNonce() public {
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        bytes32 id = _channelId(c);
        _deposit(c, 10e6, 1);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(providerKey, batch.getRefundDigest(id, 0, 4e6));
        bytes memory sig = abi.encodePacked(r, s, v);
        uint256 before = usd.balanceOf(sender);
        batch.refundWithSignature(c, 4e6, 0, sig);
        assertEq(usd.balanceOf(sender) - before, 4e6);
        assertEq(batch.refundNonce(id), 1);
        vm.expectRevert(abi.encodeWithSelector(X402BatchSettlement.RefundNonceMismatch.selector, uint256(0), uint256(1)));
        batch.refundWithSignature(c, 4e6, 0, sig);
        vm.expectRevert(abi.encodeWithSelector(X402BatchSettlement.RefundAmountInvalid.selector, uint128(7e6), uint128(6e6)));
        vm.prank(provider);
        batch.refund(c, 7e6);
    }

    // ---------------------------------------------------------------- fuzz

    /// @dev Any sequence of served costs claimed in one batch pays the receiver their sum, and the
    ///      split of it sums to it to the base unit.
    function testFuzz_claim_paysTheSumAndSplitsExactly(uint128[8] memory costs, uint8 n) public {
        n = uint8(bound(n, 1, 8));
        X402BatchSettlement.ChannelConfig memory c = _config(bytes32(0));
        uint128 total;
        for (uint256 i; i < n; ++i) {
            costs[i] = uint128(bound(costs[i], 1, 1_000e6));
            total += costs[i];
        }
        _deposit(c, total + 1, 7);
        X402BatchSettlement.VoucherClaim[] memory claims = _claims(c, total + 1, total);
        batch.claimWithSignature(claims, _authorize(providerKey, claims));
        batch.settle(payee, address(usd));
        uint256 providerBefore = usd.balanceOf(provider);
        (uint256 r, uint256 f, uint256 p) = splitter.split(provider, modelId);
        assertEq(r + f + p, total);
        assertEq(usd.balanceOf(creator), r);
        assertEq(usd.balanceOf(provider) - providerBefore, p);
        assertEq(usd.balanceOf(BATCH), 1, "the unclaimed base unit stays in the channel");
    }
}
