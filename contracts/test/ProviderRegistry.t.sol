// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Test} from "./utils/Test.sol";
import {TestToken} from "../src/TestToken.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {FeeOnTransferToken} from "./mocks/FeeOnTransferToken.sol";
import {HookToken, ITokenHooks} from "./mocks/HookToken.sol";

contract ProviderRegistryTest is Test {
    uint256 internal constant MIN_STAKE = 100e18;
    uint64 internal constant DELAY = 7 days;
    bytes32 internal constant HPKE_KEY = keccak256("hpke");
    string internal constant ENDPOINT = "https://node.example:8443";
    /// @dev Capability bits, as src/protocol/capabilities.ts encodes them.
    uint256 internal constant CHAT = 1 << 0;
    uint256 internal constant EMBEDDINGS = 1 << 1;
    uint256 internal constant TOOLS = 1 << 2;
    uint256 internal constant STRUCTURED_OUTPUTS = 1 << 3;

    TestToken internal token;
    ModelRegistry internal models;
    ProviderRegistry internal registry;
    address internal alice;
    address internal bob;
    uint256 internal modelId;

    function setUp() public {
        vm.warp(1_700_000_000);
        token = new TestToken("Stake", "STK", 18);
        models = new ModelRegistry();
        registry = new ProviderRegistry(IERC20(address(token)), models, MIN_STAKE, DELAY);
        alice = makeAddr("alice");
        bob = makeAddr("bob");
        vm.prank(bob);
        modelId = models.register("model", keccak256("w"), keccak256("m"), "ipfs://m", 100);
    }

    function _fund(address account, uint256 amount) internal {
        token.mint(account, amount);
        vm.prank(account);
        token.approve(address(registry), type(uint256).max);
    }

    function _register(address account, uint256 stake) internal {
        _fund(account, stake);
        vm.prank(account);
        registry.register(ENDPOINT, HPKE_KEY, stake);
    }

    function _registerWithOffer(address account) internal {
        _register(account, MIN_STAKE);
        vm.prank(account);
        registry.setOffer(modelId, 10, 20, CHAT);
    }

    // ---------------------------------------------------------------- constructor

    function test_constructor_setsParameters() public view {
        assertEq(address(registry.stakeToken()), address(token));
        assertEq(address(registry.models()), address(models));
        assertEq(registry.minStake(), MIN_STAKE);
        assertEq(uint256(registry.unstakeDelay()), uint256(DELAY));
    }

    // ---------------------------------------------------------------- register

    function test_register_storesProviderAndPullsStake() public {
        _fund(alice, MIN_STAKE * 2);
        vm.expectEmit(address(registry));
        emit ProviderRegistry.ProviderRegistered(alice, ENDPOINT, HPKE_KEY, MIN_STAKE * 2);
        vm.prank(alice);
        registry.register(ENDPOINT, HPKE_KEY, MIN_STAKE * 2);

        ProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertTrue(p.registered);
        assertEq(p.stake, MIN_STAKE * 2);
        assertEq(p.unstaking, 0);
        assertEq(uint256(p.unstakeReadyAt), 0);
        assertEq(p.hpkePublicKey, HPKE_KEY);
        assertEq(p.endpoint, ENDPOINT);
        assertEq(token.balanceOf(address(registry)), MIN_STAKE * 2);
        assertEq(token.balanceOf(alice), 0);
        assertTrue(registry.isActive(alice));
        address[] memory list = registry.getProviders();
        assertEq(list.length, 1);
        assertEq(list[0], alice);
    }

    function test_register_revertsWhenStakeBelowMinimum() public {
        _fund(alice, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.StakeBelowMinimum.selector, MIN_STAKE - 1, MIN_STAKE));
        vm.prank(alice);
        registry.register(ENDPOINT, HPKE_KEY, MIN_STAKE - 1);
    }

    function test_register_revertsWhenAlreadyRegistered() public {
        _register(alice, MIN_STAKE);
        _fund(alice, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.AlreadyRegistered.selector, alice));
        vm.prank(alice);
        registry.register(ENDPOINT, HPKE_KEY, MIN_STAKE);
    }

    function test_register_revertsWhenEndpointEmpty() public {
        _fund(alice, MIN_STAKE);
        vm.expectRevert(ProviderRegistry.EmptyEndpoint.selector);
        vm.prank(alice);
        registry.register("", HPKE_KEY, MIN_STAKE);
    }

    function test_register_revertsWhenHpkeKeyEmpty() public {
        _fund(alice, MIN_STAKE);
        vm.expectRevert(ProviderRegistry.EmptyHpkeKey.selector);
        vm.prank(alice);
        registry.register(ENDPOINT, bytes32(0), MIN_STAKE);
    }

    function test_register_creditsReceivedAmountOfFeeOnTransferToken() public {
        FeeOnTransferToken feeToken = new FeeOnTransferToken(100); // 1%
        ProviderRegistry feeRegistry = new ProviderRegistry(IERC20(address(feeToken)), models, MIN_STAKE, DELAY);
        feeToken.mint(alice, 200e18);
        vm.startPrank(alice);
        feeToken.approve(address(feeRegistry), type(uint256).max);
        feeRegistry.register(ENDPOINT, HPKE_KEY, 200e18);
        vm.stopPrank();
        assertEq(feeRegistry.getProvider(alice).stake, 198e18);
        assertEq(feeToken.balanceOf(address(feeRegistry)), 198e18);
    }

    function test_register_revertsWhenReceivedStakeBelowMinimum() public {
        FeeOnTransferToken feeToken = new FeeOnTransferToken(100); // 1%
        ProviderRegistry feeRegistry = new ProviderRegistry(IERC20(address(feeToken)), models, MIN_STAKE, DELAY);
        feeToken.mint(alice, MIN_STAKE);
        vm.startPrank(alice);
        feeToken.approve(address(feeRegistry), type(uint256).max);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.StakeBelowMinimum.selector, MIN_STAKE * 99 / 100, MIN_STAKE)
        );
        feeRegistry.register(ENDPOINT, HPKE_KEY, MIN_STAKE);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- addStake

    function test_addStake_increasesStakeAndEmits() public {
        _register(alice, MIN_STAKE);
        _fund(alice, 5e18);
        vm.expectEmit(address(registry));
        emit ProviderRegistry.StakeAdded(alice, 5e18, MIN_STAKE + 5e18);
        vm.prank(alice);
        registry.addStake(5e18);
        assertEq(registry.getProvider(alice).stake, MIN_STAKE + 5e18);
    }

    function test_addStake_revertsWhenNotRegistered() public {
        _fund(alice, 5e18);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, alice));
        vm.prank(alice);
        registry.addStake(5e18);
    }

    function test_addStake_revertsWhenZero() public {
        _register(alice, MIN_STAKE);
        vm.expectRevert(ProviderRegistry.ZeroAmount.selector);
        vm.prank(alice);
        registry.addStake(0);
    }

    function test_addStake_reactivatesProviderBelowMinimum() public {
        _registerWithOffer(alice);
        vm.prank(alice);
        registry.requestUnstake(1);
        assertFalse(registry.isActive(alice));
        assertFalse(registry.hasOffer(alice, modelId));
        _fund(alice, 1);
        vm.prank(alice);
        registry.addStake(1);
        assertTrue(registry.isActive(alice));
        assertTrue(registry.hasOffer(alice, modelId));
    }

    // ---------------------------------------------------------------- setEndpoint / setHpkeKey

    function test_setEndpoint_updatesAndEmits() public {
        _register(alice, MIN_STAKE);
        vm.expectEmit(address(registry));
        emit ProviderRegistry.EndpointChanged(alice, "https://new.example");
        vm.prank(alice);
        registry.setEndpoint("https://new.example");
        assertEq(registry.getProvider(alice).endpoint, "https://new.example");
    }

    function test_setEndpoint_revertsWhenEmpty() public {
        _register(alice, MIN_STAKE);
        vm.expectRevert(ProviderRegistry.EmptyEndpoint.selector);
        vm.prank(alice);
        registry.setEndpoint("");
    }

    function test_setEndpoint_revertsWhenNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, alice));
        vm.prank(alice);
        registry.setEndpoint("https://x");
    }

    function test_setHpkeKey_updatesAndEmits() public {
        _register(alice, MIN_STAKE);
        bytes32 newKey = keccak256("new key");
        vm.expectEmit(address(registry));
        emit ProviderRegistry.HpkeKeyChanged(alice, newKey);
        vm.prank(alice);
        registry.setHpkeKey(newKey);
        assertEq(registry.getProvider(alice).hpkePublicKey, newKey);
    }

    function test_setHpkeKey_revertsWhenZero() public {
        _register(alice, MIN_STAKE);
        vm.expectRevert(ProviderRegistry.EmptyHpkeKey.selector);
        vm.prank(alice);
        registry.setHpkeKey(bytes32(0));
    }

    function test_setHpkeKey_revertsWhenNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, alice));
        vm.prank(alice);
        registry.setHpkeKey(HPKE_KEY);
    }

    // ---------------------------------------------------------------- offers

    function test_setOffer_storesAndEmits() public {
        _register(alice, MIN_STAKE);
        vm.expectEmit(address(registry));
        emit ProviderRegistry.OfferSet(alice, modelId, 10, 20, CHAT | TOOLS | STRUCTURED_OUTPUTS);
        vm.prank(alice);
        registry.setOffer(modelId, 10, 20, CHAT | TOOLS | STRUCTURED_OUTPUTS);

        ProviderRegistry.Offer memory offer = registry.getOffer(alice, modelId);
        assertEq(offer.modelId, modelId);
        assertEq(offer.pricePerMillionInput, 10);
        assertEq(offer.pricePerMillionOutput, 20);
        assertEq(offer.capabilities, CHAT | TOOLS | STRUCTURED_OUTPUTS);
        assertTrue(registry.hasOffer(alice, modelId));
        ProviderRegistry.Offer[] memory offers = registry.getOffers(alice);
        assertEq(offers.length, 1);
        assertEq(offers[0].modelId, modelId);
        assertEq(offers[0].capabilities, CHAT | TOOLS | STRUCTURED_OUTPUTS);
    }

    function test_setOffer_changesCapabilitiesWithoutDuplicating() public {
        _registerWithOffer(alice);
        vm.expectEmit(address(registry));
        emit ProviderRegistry.OfferSet(alice, modelId, 10, 20, CHAT | TOOLS);
        vm.prank(alice);
        registry.setOffer(modelId, 10, 20, CHAT | TOOLS);
        ProviderRegistry.Offer[] memory offers = registry.getOffers(alice);
        assertEq(offers.length, 1);
        assertEq(offers[0].capabilities, CHAT | TOOLS);
        assertEq(registry.getOffer(alice, modelId).capabilities, CHAT | TOOLS);
    }

    function test_setOffer_revertsWhenNoCapabilities() public {
        _register(alice, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NoCapabilities.selector, modelId));
        vm.prank(alice);
        registry.setOffer(modelId, 10, 20, 0);
        assertFalse(registry.hasOffer(alice, modelId));
    }

    function test_setOffer_keepsBitsItDoesNotKnow() public {
        // A newer client may declare kinds this contract has never heard of: stored as given.
        uint256 future = EMBEDDINGS | (1 << 200);
        _register(alice, MIN_STAKE);
        vm.prank(alice);
        registry.setOffer(modelId, 1, 1, future);
        assertEq(registry.getOffer(alice, modelId).capabilities, future);
    }

    function test_removeOffer_thenSetOffer_startsFromTheNewCapabilities() public {
        _registerWithOffer(alice);
        vm.startPrank(alice);
        registry.setOffer(modelId, 10, 20, CHAT | TOOLS);
        registry.removeOffer(modelId);
        registry.setOffer(modelId, 5, 6, EMBEDDINGS);
        vm.stopPrank();
        ProviderRegistry.Offer memory offer = registry.getOffer(alice, modelId);
        assertEq(offer.capabilities, EMBEDDINGS);
        assertEq(offer.pricePerMillionInput, 5);
    }

    function testFuzz_setOffer_storesAnyNonZeroCapabilities(uint256 capabilities, uint256 input, uint256 output) public {
        capabilities = bound(capabilities, 1, type(uint256).max);
        _register(alice, MIN_STAKE);
        vm.expectEmit(address(registry));
        emit ProviderRegistry.OfferSet(alice, modelId, input, output, capabilities);
        vm.prank(alice);
        registry.setOffer(modelId, input, output, capabilities);
        ProviderRegistry.Offer memory offer = registry.getOffer(alice, modelId);
        assertEq(offer.capabilities, capabilities);
        assertEq(offer.pricePerMillionInput, input);
        assertEq(offer.pricePerMillionOutput, output);
    }

    function test_setOffer_repricesWithoutDuplicating() public {
        _registerWithOffer(alice);
        vm.prank(alice);
        registry.setOffer(modelId, 11, 22, CHAT);
        ProviderRegistry.Offer[] memory offers = registry.getOffers(alice);
        assertEq(offers.length, 1);
        assertEq(offers[0].pricePerMillionInput, 11);
        assertEq(offers[0].pricePerMillionOutput, 22);
    }

    function test_setOffer_supportsManyModels() public {
        vm.prank(bob);
        uint256 second = models.register("second", keccak256("w2"), keccak256("m2"), "ipfs://2", 0);
        _registerWithOffer(alice);
        vm.prank(alice);
        registry.setOffer(second, 3, 4, EMBEDDINGS);
        ProviderRegistry.Offer[] memory offers = registry.getOffers(alice);
        assertEq(offers.length, 2);
        assertEq(offers[0].modelId, modelId);
        assertEq(offers[1].modelId, second);
        assertEq(offers[1].pricePerMillionInput, 3);
        assertEq(offers[0].capabilities, CHAT);
        assertEq(offers[1].capabilities, EMBEDDINGS);
    }

    function test_setOffer_revertsWhenNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, alice));
        vm.prank(alice);
        registry.setOffer(modelId, 1, 1, CHAT);
    }

    function test_setOffer_revertsWhenModelMissing() public {
        _register(alice, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ModelNotFound.selector, 99));
        vm.prank(alice);
        registry.setOffer(99, 1, 1, CHAT);
    }

    function test_removeOffer_removesAndEmits() public {
        _registerWithOffer(alice);
        vm.expectEmit(address(registry));
        emit ProviderRegistry.OfferRemoved(alice, modelId);
        vm.prank(alice);
        registry.removeOffer(modelId);
        assertFalse(registry.hasOffer(alice, modelId));
        assertEq(registry.getOffers(alice).length, 0);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.OfferNotFound.selector, alice, modelId));
        registry.getOffer(alice, modelId);
    }

    function test_removeOffer_revertsWhenNoOffer() public {
        _register(alice, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.OfferNotFound.selector, alice, modelId));
        vm.prank(alice);
        registry.removeOffer(modelId);
    }

    function test_removeOffer_revertsWhenNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, alice));
        vm.prank(alice);
        registry.removeOffer(modelId);
    }

    function test_getOffer_revertsWhenMissing() public {
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.OfferNotFound.selector, alice, modelId));
        registry.getOffer(alice, modelId);
    }

    function test_hasOffer_falseWhenUnregisteredOrUnderstakedOrNoOffer() public {
        assertFalse(registry.hasOffer(alice, modelId), "unregistered");
        _register(alice, MIN_STAKE);
        assertFalse(registry.hasOffer(alice, modelId), "no offer");
        vm.prank(alice);
        registry.setOffer(modelId, 1, 1, CHAT);
        assertTrue(registry.hasOffer(alice, modelId), "offer");
        assertFalse(registry.hasOffer(alice, modelId + 1), "other model");
        vm.prank(alice);
        registry.requestUnstake(MIN_STAKE);
        assertFalse(registry.hasOffer(alice, modelId), "understaked");
    }

    // ---------------------------------------------------------------- setPaused

    function test_setPaused_pausesEveryOfferAndEmits() public {
        _registerWithOffer(alice);
        vm.expectEmit(address(registry));
        emit ProviderRegistry.ProviderPaused(alice, true);
        vm.prank(alice);
        registry.setPaused(true);
        assertTrue(registry.getProvider(alice).paused);
        assertFalse(registry.hasOffer(alice, modelId), "no channel to a paused provider");
        assertTrue(registry.isActive(alice), "its stake still counts");
        assertEq(registry.getOffers(alice).length, 1, "the offer is kept");
    }

    function test_setPaused_resumeRestoresTheOffer() public {
        _registerWithOffer(alice);
        vm.prank(alice);
        registry.setPaused(true);
        vm.expectEmit(address(registry));
        emit ProviderRegistry.ProviderPaused(alice, false);
        vm.prank(alice);
        registry.setPaused(false);
        assertFalse(registry.getProvider(alice).paused);
        assertTrue(registry.hasOffer(alice, modelId));
    }

    function test_setPaused_sameStateIsANoOp() public {
        _registerWithOffer(alice);
        vm.prank(alice);
        registry.setPaused(false);
        assertFalse(registry.getProvider(alice).paused);
        assertTrue(registry.hasOffer(alice, modelId));
        vm.prank(alice);
        registry.setPaused(true);
        vm.prank(alice);
        registry.setPaused(true);
        assertTrue(registry.getProvider(alice).paused);
    }

    function test_setPaused_revertsWhenNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, alice));
        vm.prank(alice);
        registry.setPaused(true);
    }

    function test_setPaused_offerSetWhilePausedStaysPaused() public {
        _registerWithOffer(alice);
        vm.prank(alice);
        registry.setPaused(true);
        vm.prank(alice);
        registry.setOffer(modelId, 5, 6, CHAT);
        assertFalse(registry.hasOffer(alice, modelId));
        assertEq(registry.getOffer(alice, modelId).pricePerMillionInput, 5);
    }

    /// @dev Stopping must be cheap: pausing writes one slot shared with `registered`, whatever the offers.
    function test_setPaused_costsUnderTenThousandGasWithManyOffers() public {
        _register(alice, MIN_STAKE);
        for (uint256 i; i < 20; ++i) {
            vm.prank(bob);
            uint256 id = models.register("m", keccak256(abi.encode(i)), keccak256("m"), "ipfs://m", 100);
            vm.prank(alice);
            registry.setOffer(id, 1, 1, CHAT);
        }
        vm.prank(alice);
        uint256 before = gasleft();
        registry.setPaused(true);
        uint256 used = before - gasleft();
        assertLt(used, 10_000, "one warm slot write and one event");
    }

    function test_getOffers_emptyForUnknownProvider() public view {
        assertEq(registry.getOffers(alice).length, 0);
    }

    function test_getProvider_zeroForUnknownAccount() public view {
        ProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertFalse(p.registered);
        assertEq(p.stake, 0);
        assertEq(p.endpoint, "");
    }

    function test_getProviders_listsEveryRegistration() public {
        _register(alice, MIN_STAKE);
        _register(bob, MIN_STAKE);
        vm.prank(bob);
        registry.requestUnstake(MIN_STAKE);
        address[] memory list = registry.getProviders();
        assertEq(list.length, 2);
        assertEq(list[0], alice);
        assertEq(list[1], bob);
    }

    function test_isActive_falseWhenUnregistered() public view {
        assertFalse(registry.isActive(alice));
    }

    // ---------------------------------------------------------------- unstake

    function test_requestUnstake_movesStakeAndStartsDelay() public {
        _register(alice, MIN_STAKE * 2);
        uint64 readyAt = uint64(block.timestamp) + DELAY;
        vm.expectEmit(address(registry));
        emit ProviderRegistry.UnstakeRequested(alice, MIN_STAKE, MIN_STAKE, readyAt);
        vm.prank(alice);
        registry.requestUnstake(MIN_STAKE);
        ProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(p.stake, MIN_STAKE);
        assertEq(p.unstaking, MIN_STAKE);
        assertEq(uint256(p.unstakeReadyAt), uint256(readyAt));
        assertTrue(registry.isActive(alice));
    }

    function test_requestUnstake_addsAndRestartsDelay() public {
        _register(alice, MIN_STAKE * 2);
        vm.prank(alice);
        registry.requestUnstake(10);
        vm.warp(block.timestamp + 3 days);
        uint64 readyAt = uint64(block.timestamp) + DELAY;
        vm.expectEmit(address(registry));
        emit ProviderRegistry.UnstakeRequested(alice, 5, 15, readyAt);
        vm.prank(alice);
        registry.requestUnstake(5);
        ProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(p.unstaking, 15);
        assertEq(uint256(p.unstakeReadyAt), uint256(readyAt));
    }

    function test_requestUnstake_revertsWhenAboveStake() public {
        _register(alice, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.InsufficientStake.selector, MIN_STAKE, MIN_STAKE + 1));
        vm.prank(alice);
        registry.requestUnstake(MIN_STAKE + 1);
    }

    function test_requestUnstake_revertsWhenZero() public {
        _register(alice, MIN_STAKE);
        vm.expectRevert(ProviderRegistry.ZeroAmount.selector);
        vm.prank(alice);
        registry.requestUnstake(0);
    }

    function test_requestUnstake_revertsWhenNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, alice));
        vm.prank(alice);
        registry.requestUnstake(1);
    }

    function test_withdrawStake_paysAfterDelay() public {
        _register(alice, MIN_STAKE);
        vm.prank(alice);
        registry.requestUnstake(MIN_STAKE);
        vm.warp(block.timestamp + DELAY);
        vm.expectEmit(address(registry));
        emit ProviderRegistry.StakeWithdrawn(alice, MIN_STAKE);
        vm.prank(alice);
        registry.withdrawStake();
        assertEq(token.balanceOf(alice), MIN_STAKE);
        ProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(p.unstaking, 0);
        assertEq(uint256(p.unstakeReadyAt), 0);
        assertTrue(p.registered, "stays registered");
        assertFalse(registry.isActive(alice));
    }

    function test_withdrawStake_revertsBeforeDelay() public {
        _register(alice, MIN_STAKE);
        vm.prank(alice);
        registry.requestUnstake(MIN_STAKE);
        uint64 readyAt = uint64(block.timestamp) + DELAY;
        vm.warp(readyAt - 1);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.UnstakeNotReady.selector, readyAt, readyAt - 1));
        vm.prank(alice);
        registry.withdrawStake();
    }

    function test_withdrawStake_revertsWhenNothingUnstaking() public {
        _register(alice, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NothingToWithdraw.selector, alice));
        vm.prank(alice);
        registry.withdrawStake();
    }

    function test_withdrawStake_revertsWhenNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, alice));
        vm.prank(alice);
        registry.withdrawStake();
    }

    function test_withdrawStake_cannotBeReentered() public {
        HookToken hookToken = new HookToken();
        ProviderRegistry hookRegistry = new ProviderRegistry(IERC20(address(hookToken)), models, MIN_STAKE, DELAY);
        ReenteringProvider attacker = new ReenteringProvider(hookRegistry, hookToken);
        hookToken.mint(address(attacker), MIN_STAKE * 2);
        attacker.registerAndUnstake(MIN_STAKE * 2, MIN_STAKE);
        vm.warp(block.timestamp + DELAY);

        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        attacker.withdraw();
        assertEq(hookRegistry.getProvider(address(attacker)).unstaking, MIN_STAKE, "state unchanged");
        assertEq(hookToken.balanceOf(address(hookRegistry)), MIN_STAKE * 2, "tokens unchanged");
    }

    function testFuzz_unstake_conservesStake(uint256 stake, uint256 unstake, uint256 wait) public {
        stake = bound(stake, MIN_STAKE, 1e30);
        unstake = bound(unstake, 1, stake);
        wait = bound(wait, 0, 2 * DELAY);
        _register(alice, stake);
        vm.prank(alice);
        registry.requestUnstake(unstake);
        vm.warp(block.timestamp + wait);
        vm.prank(alice);
        if (wait < DELAY) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ProviderRegistry.UnstakeNotReady.selector,
                    uint64(block.timestamp - wait + DELAY),
                    uint64(block.timestamp)
                )
            );
            registry.withdrawStake();
            assertEq(token.balanceOf(alice), 0);
        } else {
            registry.withdrawStake();
            assertEq(token.balanceOf(alice), unstake);
        }
        ProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(p.stake + p.unstaking + token.balanceOf(alice), stake, "conserved");
        assertEq(token.balanceOf(address(registry)), p.stake + p.unstaking, "held");
        assertEq(registry.isActive(alice), stake - unstake >= MIN_STAKE, "active");
    }
}

/// @dev A provider whose token hook re-enters `withdrawStake` when its stake arrives.
contract ReenteringProvider is ITokenHooks {
    ProviderRegistry internal immutable registry;
    HookToken internal immutable token;

    constructor(ProviderRegistry registry_, HookToken token_) {
        registry = registry_;
        token = token_;
    }

    function registerAndUnstake(uint256 stake, uint256 unstake) external {
        token.approve(address(registry), stake);
        registry.register("https://attacker", keccak256("k"), stake);
        registry.requestUnstake(unstake);
        token.setHook(this);
    }

    function withdraw() external {
        registry.withdrawStake();
    }

    function tokensToSend(address, address, uint256) external {}

    function tokensReceived(address, address, uint256) external {
        registry.withdrawStake();
    }
}
