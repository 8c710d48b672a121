// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {InvariantTest} from "./InvariantTest.sol";
import {TestToken} from "../../src/TestToken.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {AgentWallet} from "../../src/AgentWallet.sol";
import {AgentWalletFactory} from "../../src/AgentWalletFactory.sol";
import {AgentWalletHandler} from "./handlers/AgentWalletHandler.sol";

/// @notice Whatever the agent key does, the wallet's outflow per period never exceeds its budget.
/// @dev Each handler call runs as its own transaction (`isolate`), as it would on a chain.
/// forge-config: default.isolate = true
contract AgentWalletInvariantTest is InvariantTest {
    uint128 internal constant BUDGET = 100e6;
    uint128 internal constant CAP = 40e6;
    uint128 internal constant NATIVE_BUDGET = 1 ether;
    uint128 internal constant NATIVE_CAP = 0.4 ether;
    uint64 internal constant PERIOD = 1 hours;

    AgentWallet internal wallet;
    TestToken internal usd;
    AgentWalletHandler internal handler;

    function setUp() public {
        TestToken stakeToken;
        ModelRegistry models;
        ProviderRegistry providers;
        (usd, stakeToken, models, providers) = _deployRegistries();
        PaymentChannels channels = new PaymentChannels(usd, models, providers, makeAddr("fundingPool"), 300, 1 hours);

        address creator = makeAddr("creator");
        vm.prank(creator);
        uint256 modelId = models.register("model", keccak256("weights"), bytes32(0), "", 500);
        address provider = makeAddr("provider");
        stakeToken.mint(provider, 1e18);
        vm.startPrank(provider);
        stakeToken.approve(address(providers), 1e18);
        providers.register("https://provider", keccak256("hpke"), 1e18);
        providers.setOffer(modelId, 1, 1, 1);
        vm.stopPrank();

        address agent = makeAddr("agent");
        AgentWallet.Config memory config;
        config.owner = makeAddr("owner");
        config.agent = agent;
        config.budgets = new AgentWallet.BudgetConfig[](2);
        config.budgets[0] = AgentWallet.BudgetConfig(address(usd), BUDGET, CAP, PERIOD);
        config.budgets[1] = AgentWallet.BudgetConfig(address(0), NATIVE_BUDGET, NATIVE_CAP, PERIOD);
        config.calls = new AgentWallet.CallPermission[](7);
        config.calls[0] = AgentWallet.CallPermission(address(usd), usd.transfer.selector);
        config.calls[1] = AgentWallet.CallPermission(address(usd), usd.approve.selector);
        config.calls[2] = AgentWallet.CallPermission(address(channels), PaymentChannels.open.selector);
        config.calls[3] = AgentWallet.CallPermission(address(channels), PaymentChannels.topUp.selector);
        config.calls[4] = AgentWallet.CallPermission(makeAddr("merchant"), bytes4(0));
        config.calls[5] = AgentWallet.CallPermission(address(channels), PaymentChannels.startClose.selector);
        config.calls[6] = AgentWallet.CallPermission(address(channels), PaymentChannels.withdraw.selector);
        config.signatureVerifiers = new address[](1);
        config.signatureVerifiers[0] = address(channels);
        config.refundCalls = new AgentWallet.CallPermission[](1);
        config.refundCalls[0] = AgentWallet.CallPermission(address(channels), PaymentChannels.withdraw.selector);
        wallet = new AgentWalletFactory().createWallet(config, bytes32(0));
        usd.mint(address(wallet), 1e15);
        vm.deal(address(wallet), 1e9 ether);

        handler = new AgentWalletHandler(wallet, usd, channels, agent, provider, modelId, START_TIME);
        bytes4[] memory selectors = new bytes4[](12);
        selectors[0] = AgentWalletHandler.pay.selector;
        selectors[1] = AgentWalletHandler.approve.selector;
        selectors[2] = AgentWalletHandler.payNative.selector;
        selectors[3] = AgentWalletHandler.batch.selector;
        selectors[4] = AgentWalletHandler.deposit.selector;
        selectors[5] = AgentWalletHandler.forbidden.selector;
        selectors[6] = AgentWalletHandler.pull.selector;
        selectors[7] = AgentWalletHandler.warp.selector;
        selectors[8] = AgentWalletHandler.togglePause.selector;
        selectors[9] = AgentWalletHandler.revokeOrRestore.selector;
        selectors[10] = AgentWalletHandler.closeChannel.selector;
        selectors[11] = AgentWalletHandler.withdrawChannel.selector;
        _targetHandler(address(handler), selectors);
    }

    /// @notice Within any period, what the wallet exposes (tokens gone plus allowances granted,
    ///         measured from the token's state) rises by at most the budget, net of what channel
    ///         refunds brought back in it; the same for the native coin.
    function invariant_outflowPerPeriodWithinBudget() public view {
        assertLe(handler.ghostMaxPeriodRise(), BUDGET, "usd exposed in one period <= budget");
        assertLe(handler.ghostMaxNativePeriodRise(), NATIVE_BUDGET, "native sent in one period <= budget");
    }

    /// @notice Nothing ever leaves (or is exposed) that was not counted against a budget, and
    ///         refunds never give back more budget than came back into the wallet.
    function invariant_outflowNeverAboveWhatWasCounted() public view {
        assertLe(handler.exposure(), handler.ghostTotalCharged(), "exposed <= counted");
        assertLe(
            Math.saturatingAdd(handler.exposure(), handler.ghostTotalRefunded()),
            handler.ghostTotalCharged(),
            "exposed + refunded <= counted"
        );
        assertLe(handler.ghostTotalCredited(), handler.ghostTotalRefunded(), "credited <= refunded");
        assertEq(handler.nativeExposure(), handler.ghostTotalNativeCharged(), "native sent == counted");
    }

    /// @notice The wallet accepted exactly what the policy allows, refused everything else, and a
    ///         refusal moved nothing.
    function invariant_policyFollowedExactly() public view {
        assertEq(handler.ghostMismatches(), 0, "accepted exactly what fits the cap, the budget, pause and revocation");
        assertEq(handler.ghostForbiddenAccepted(), 0, "calls outside the policy refused");
        assertEq(handler.ghostRefusalsThatMoved(), 0, "a refusal moves nothing");
    }

    /// @notice The wallet's own count of the current period matches the handler's model.
    function invariant_walletCountsWhatTheModelCounts() public view {
        uint256 now_ = vm.getBlockTimestamp();
        if (now_ - (now_ % PERIOD) != handler.modelPeriodStart()) return;
        assertEq(wallet.budgetOf(address(usd)).spent, handler.modelSpent(), "usd spent in this period");
        assertEq(wallet.budgetOf(address(0)).spent, handler.modelNativeSpent(), "native spent in this period");
        assertLe(wallet.budgetOf(address(usd)).spent, BUDGET, "never above the budget");
    }
}
