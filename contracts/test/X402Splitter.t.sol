// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

import {Fixture} from "./utils/Fixture.sol";
import {Eip3009Signing} from "./utils/Eip3009Signing.sol";
import {X402Splitter, IPaymentTerms} from "../src/X402Splitter.sol";
import {X402Payee} from "../src/x402/X402Payee.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {ERC3009} from "@openzeppelin/contracts/token/ERC20/extensions/draft-ERC3009.sol";

contract X402SplitterTest is Fixture, Eip3009Signing {
    X402Splitter internal splitter;
    address internal payee;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event PaymentSplit(
        address indexed provider,
        uint256 indexed modelId,
        address indexed royaltyTo,
        uint256 amount,
        uint256 providerShare,
        uint256 royalty,
        uint256 fee
    );
    event AuthorizationSettled(
        address indexed payer, bytes32 indexed nonce, address indexed provider, uint256 modelId, uint256 value
    );

    function setUp() public override {
        super.setUp();
        splitter = new X402Splitter(IPaymentTerms(address(channels)));
        payee = splitter.payeeOf(provider, modelId);
        usd.mint(sender, 1_000_000e6);
    }

    function _authorization(address to, uint256 value, bytes32 nonce) internal view returns (Authorization memory) {
        return Authorization(sender, to, value, 0, block.timestamp + 60, nonce);
    }

    /// @dev Signs `a` with `key` and returns it in the splitter's shape.
    function _signed(uint256 key, Authorization memory a) internal view returns (X402Splitter.Authorization memory) {
        Signature memory s = _signAuthorization(key, address(usd), usd.name(), TRANSFER_TYPEHASH, a);
        return X402Splitter.Authorization(a.from, a.value, a.validAfter, a.validBefore, a.nonce, s.v, s.r, s.s);
    }

    function test_constructor_takesTheTermsOfPaymentChannels() public view {
        assertEq(address(splitter.token()), address(usd));
        assertEq(address(splitter.models()), address(models));
        assertEq(splitter.fundingPool(), fundingPool);
        assertEq(uint256(splitter.protocolFeeBps()), uint256(FEE_BPS));
        assertEq(X402Payee(splitter.payeeImplementation()).splitter(), address(splitter));
    }

    function test_payeeOf_isOnePerPairAndKnownBeforeDeployment() public {
        assertEq(payee.code.length, 0);
        assertTrue(splitter.payeeOf(provider, modelId + 1) != payee);
        assertTrue(splitter.payeeOf(stranger, modelId) != payee);
        splitter.settle(provider, modelId, _signed(senderKey, _authorization(payee, 1e6, "a")));
        assertGt(payee.code.length, 0, "payee deployed");
        assertEq(splitter.payeeOf(provider, modelId), payee);
    }

    function testFuzz_settle_splitsExactlyAsARedeem(uint256 value, uint16 royaltyBps, bytes32 nonce) public {
        value = bound(value, 1, 1_000_000e6);
        royaltyBps = uint16(bound(royaltyBps, 0, 5000));
        uint256 model = _registerModel(creator, royaltyBps);
        address pairPayee = splitter.payeeOf(provider, model);
        X402Splitter.Authorization memory a = _signed(senderKey, _authorization(pairPayee, value, nonce));

        vm.expectEmit(address(usd));
        emit Transfer(sender, pairPayee, value);
        vm.expectEmit(address(splitter));
        emit AuthorizationSettled(sender, nonce, provider, model, value);
        vm.prank(provider);
        (uint256 royalty, uint256 fee, uint256 providerShare) = splitter.settle(provider, model, a);

        assertEq(royalty + fee + providerShare, value, "shares sum to the payment");
        assertEq(royalty, value * royaltyBps / 10_000, "royalty rounded down");
        assertEq(fee, value * FEE_BPS / 10_000, "fee rounded down");
        assertEq(usd.balanceOf(creator), royalty, "royalty to the model's owner");
        assertEq(usd.balanceOf(provider), providerShare, "rest to the provider");
        assertEq(splitter.earnings(fundingPool), fee, "fee credited to the funding pool");
        assertEq(usd.balanceOf(address(splitter)), fee, "the splitter holds the fee");
        assertEq(usd.balanceOf(pairPayee), 0, "nothing left at the payee");
        assertEq(usd.balanceOf(sender), 1_000_000e6 - value, "the payer paid the value");
        assertTrue(usd.authorizationState(sender, nonce));
        assertEq(splitter.paidBy(sender, provider), value, "the payment is recorded for its payer");
    }

    function test_settle_recordsWhatEachPayerPaidEachProvider() public {
        uint256 otherModel = _registerModel(creator, 0);
        splitter.settle(provider, modelId, _signed(senderKey, _authorization(payee, 3e6, "a")));
        splitter.settle(
            provider, otherModel, _signed(senderKey, _authorization(splitter.payeeOf(provider, otherModel), 4e6, "b"))
        );
        splitter.settle(
            stranger, modelId, _signed(senderKey, _authorization(splitter.payeeOf(stranger, modelId), 5e6, "c"))
        );
        assertEq(splitter.paidBy(sender, provider), 7e6, "every model of the provider, summed");
        assertEq(splitter.paidBy(sender, stranger), 5e6, "each provider apart");
        assertEq(splitter.paidBy(stranger, provider), 0, "each payer apart");
    }

    function test_settle_emitsTheSplitAndItsTransfers() public {
        // 10.000001 tUSD: royalty 10% = 1.0000001 rounds down to 1.000000, fee 2.5% = 0.250000025 to 0.250000.
        uint256 value = 10_000_001;
        vm.expectEmit(address(usd));
        emit Transfer(payee, creator, 1_000_000);
        vm.expectEmit(address(usd));
        emit Transfer(payee, address(splitter), 250_000);
        vm.expectEmit(address(usd));
        emit Transfer(payee, provider, 8_750_001);
        vm.expectEmit(address(splitter));
        emit PaymentSplit(provider, modelId, creator, value, 8_750_001, 1_000_000, 250_000);
        splitter.settle(provider, modelId, _signed(senderKey, _authorization(payee, value, "n")));
    }

    function test_settle_paysTheRoyaltyToTheModelsCurrentOwner() public {
        address buyer = makeAddr("buyer");
        vm.prank(creator);
        models.transferFrom(creator, buyer, modelId);
        splitter.settle(provider, modelId, _signed(senderKey, _authorization(payee, 100e6, "n")));
        assertEq(usd.balanceOf(buyer), 10e6);
        assertEq(usd.balanceOf(creator), 0);
    }

    function test_settle_revertsWhenTheAuthorizationPaysAnotherPair() public {
        address otherPayee = splitter.payeeOf(stranger, modelId);
        X402Splitter.Authorization memory a = _signed(senderKey, _authorization(otherPayee, 100e6, "n"));
        // Naming another provider cannot redirect it: the signature covers `to`, the other pair's payee.
        vm.expectRevert(ERC3009.ERC3009InvalidSignature.selector);
        splitter.settle(provider, modelId, a);
        assertEq(usd.balanceOf(sender), 1_000_000e6);
    }

    function test_settle_revertsWhenSignedByAnotherKey() public {
        (, uint256 otherKey) = makeAddrAndKey("other");
        X402Splitter.Authorization memory a = _signed(otherKey, _authorization(payee, 100e6, "n"));
        vm.expectRevert(ERC3009.ERC3009InvalidSignature.selector);
        splitter.settle(provider, modelId, a);
        assertEq(usd.balanceOf(sender), 1_000_000e6);
    }

    function test_settle_revertsWhenTheNonceWasUsed() public {
        X402Splitter.Authorization memory a = _signed(senderKey, _authorization(payee, 100e6, "n"));
        splitter.settle(provider, modelId, a);
        vm.expectRevert(abi.encodeWithSelector(ERC3009.ERC3009UsedAuthorization.selector, sender, bytes32("n")));
        splitter.settle(provider, modelId, a);
        assertEq(usd.balanceOf(sender), 1_000_000e6 - 100e6);
    }

    function test_settle_revertsForAnUnknownModelAndMovesNothing() public {
        uint256 unknown = modelId + 99;
        address unknownPayee = splitter.payeeOf(provider, unknown);
        X402Splitter.Authorization memory a = _signed(senderKey, _authorization(unknownPayee, 100e6, "n"));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelNotFound.selector, unknown));
        splitter.settle(provider, unknown, a);
        assertEq(usd.balanceOf(sender), 1_000_000e6);
    }

    function test_settle_revertsForTheZeroProvider() public {
        X402Splitter.Authorization memory a = _signed(senderKey, _authorization(payee, 1, "n"));
        vm.expectRevert(X402Splitter.ZeroProvider.selector);
        splitter.settle(address(0), modelId, a);
    }

    function test_split_splitsAnAuthorizationSubmittedToTheTokenDirectly() public {
        // A front-runner (or another facilitator) submits the authorization straight to the token:
        // the money can only land in the pair's payee, and anyone can split it from there.
        Authorization memory a = _authorization(payee, 100e6, "n");
        Signature memory s = _signAuthorization(senderKey, address(usd), usd.name(), TRANSFER_TYPEHASH, a);
        vm.prank(stranger);
        usd.transferWithAuthorization(a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, s.v, s.r, s.s);
        assertEq(usd.balanceOf(payee), 100e6);

        vm.prank(stranger);
        (uint256 royalty, uint256 fee, uint256 providerShare) = splitter.split(provider, modelId);
        assertEq(royalty, 10e6);
        assertEq(fee, 2.5e6);
        assertEq(providerShare, 87.5e6);
        assertEq(usd.balanceOf(provider), 87.5e6);
        assertEq(usd.balanceOf(creator), 10e6);
        assertEq(splitter.earnings(fundingPool), 2.5e6);
        assertEq(splitter.paidBy(sender, provider), 0, "a payment split with `split` has no known payer");
    }

    function test_split_revertsWhenThePayeeHoldsNothing() public {
        vm.expectRevert(abi.encodeWithSelector(X402Splitter.NothingToSplit.selector, provider, modelId));
        splitter.split(provider, modelId);
    }

    function test_payOut_revertsWhenNotTheSplitter() public {
        splitter.settle(provider, modelId, _signed(senderKey, _authorization(payee, 1e6, "n")));
        usd.mint(payee, 5e6);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(X402Payee.NotSplitter.selector, stranger));
        X402Payee(payee).payOut(usd, stranger, 5e6, 0, stranger, 0);
        assertEq(usd.balanceOf(payee), 5e6);
    }

    function test_withdrawEarnings_paysTheFundingPoolItsFees() public {
        splitter.settle(provider, modelId, _signed(senderKey, _authorization(payee, 100e6, "n")));
        address to = makeAddr("to");
        vm.prank(fundingPool);
        assertEq(splitter.withdrawEarnings(to), 2.5e6);
        assertEq(usd.balanceOf(to), 2.5e6);
        assertEq(splitter.earnings(fundingPool), 0);
        vm.prank(fundingPool);
        vm.expectRevert(abi.encodeWithSelector(X402Splitter.NothingToWithdraw.selector, fundingPool));
        splitter.withdrawEarnings(to);
    }

    function test_withdrawEarnings_revertsForTheZeroRecipient() public {
        vm.prank(fundingPool);
        vm.expectRevert(X402Splitter.ZeroRecipient.selector);
        splitter.withdrawEarnings(address(0));
    }
}
