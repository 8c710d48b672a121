// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {TestBase} from "../../utils/TestBase.sol";
import {TestToken} from "../../../src/TestToken.sol";
import {AgentWallet} from "../../../src/AgentWallet.sol";
import {PaymentChannels} from "../../../src/PaymentChannels.sol";

/// @notice Drives an agent wallet the way a hostile agent key would: transfers, approvals to
///         accomplices (who then pull), native payments, batches, channel deposits, closes and
///         withdrawals (refunds that give budget back), calls outside
///         the policy, huge amounts, many small payments, waits across period boundaries; and the
///         owner pausing, revoking and restoring the key. Before each call it predicts, from its own
///         model of the policy, whether the wallet must accept it, and counts every disagreement.
///
///         It measures what the wallet exposes from the token's state alone, never from the
///         wallet's counters: exposure = tokens that left the wallet + allowances it has granted
///         (an allowance is as good as gone: whoever holds it can take it). An accomplice pulling
///         an allowance moves value from one term to the other, so only the agent's actions can
///         raise it. The invariants compare its rise within each period with the budget.
contract AgentWalletHandler is TestBase {
    bytes4 internal constant TRANSFER = 0xa9059cbb;
    bytes4 internal constant APPROVE = 0x095ea7b3;

    AgentWallet public immutable wallet;
    TestToken public immutable usd;
    PaymentChannels public immutable channels;
    address public immutable owner;
    address public immutable agent;
    address public immutable provider;
    uint256 public immutable modelId;
    address public immutable merchant;
    uint256 public immutable budget;
    uint256 public immutable cap;
    uint256 public immutable nativeBudget;
    uint256 public immutable nativeCap;
    uint64 public immutable period;
    uint256 public immutable initialBalance;
    uint256 public immutable initialNative;

    /// @dev Accounts that receive allowances and pull them.
    address[] internal _spenders;

    /// @dev The handler's clock, forced onto the VM at the start of every action.
    uint256 public currentTime;

    // the handler's model of the policy
    bool public paused;
    bool public revoked;
    uint256 public modelPeriodStart;
    uint256 public modelSpent;
    uint256 public modelNativeSpent;

    // exposure at the start of the current period, and the largest rise within any period
    uint256 public exposureAtPeriodStart;
    uint256 public nativeExposureAtPeriodStart;
    uint256 public ghostMaxPeriodRise;
    uint256 public ghostMaxNativePeriodRise;
    uint256 public ghostTotalCharged;
    uint256 public ghostTotalNativeCharged;
    /// @dev Tokens channel withdrawals brought back, and what of them the model credited to the budget.
    uint256 public ghostTotalRefunded;
    uint256 public ghostTotalCredited;

    // failure counters (all must stay zero)
    uint256 public ghostMismatches;
    uint256 public ghostForbiddenAccepted;
    uint256 public ghostRefusalsThatMoved;

    mapping(string action => uint256) public calls;

    modifier useTime() {
        vm.warp(currentTime);
        _enterPeriod();
        _;
        _recordRise();
    }

    constructor(
        AgentWallet wallet_,
        TestToken usd_,
        PaymentChannels channels_,
        address agent_,
        address provider_,
        uint256 modelId_,
        uint256 startTime
    ) {
        wallet = wallet_;
        usd = usd_;
        channels = channels_;
        owner = wallet_.owner();
        agent = agent_;
        provider = provider_;
        modelId = modelId_;
        merchant = makeAddr("merchant");
        AgentWallet.BudgetStatus memory b = wallet_.budgetOf(address(usd_));
        budget = b.budget;
        cap = b.maxPerTransaction;
        period = b.period;
        AgentWallet.BudgetStatus memory n = wallet_.budgetOf(address(0));
        nativeBudget = n.budget;
        nativeCap = n.maxPerTransaction;
        require(n.period == b.period, "one period for both budgets");
        initialBalance = usd_.balanceOf(address(wallet_));
        initialNative = address(wallet_).balance;
        currentTime = startTime;
        modelPeriodStart = startTime - (startTime % period);
        for (uint256 i; i < 3; ++i) {
            _spenders.push(makeAddr(string.concat("accomplice", vm.toString(i))));
        }
        _spenders.push(address(channels_));
        exposureAtPeriodStart = exposure();
        nativeExposureAtPeriodStart = nativeExposure();
    }

    // ---------------------------------------------------------------- agent actions

    function pay(uint256 toSeed, uint256 amount) external useTime {
        address to = toSeed % 2 == 0 ? merchant : _spenders[toSeed % 3];
        amount = _amount(amount);
        _agentExecute(_one(address(usd), 0, abi.encodeWithSelector(TRANSFER, to, amount)), amount, 0);
        calls["pay"]++;
    }

    function approve(uint256 spenderSeed, uint256 amount) external useTime {
        address spender = _spenders[spenderSeed % _spenders.length];
        amount = _amount(amount);
        _agentExecute(_one(address(usd), 0, abi.encodeWithSelector(APPROVE, spender, amount)), amount, 0);
        calls["approve"]++;
    }

    function payNative(uint256 amount) external useTime {
        amount = bound(amount, 0, nativeCap * 2);
        _agentExecute(_one(merchant, amount, ""), 0, amount);
        calls["payNative"]++;
    }

    /// @dev Many small or large payments in one batch (one transaction).
    function batch(uint256[4] calldata amounts, uint256 kinds) external useTime {
        AgentWallet.Call[] memory list = new AgentWallet.Call[](4);
        uint256 charged;
        uint256 nativeCharged;
        for (uint256 i; i < 4; ++i) {
            uint256 kind = (kinds >> (i * 2)) % 3;
            if (kind == 2) {
                uint256 value = bound(amounts[i], 0, nativeCap);
                list[i] = AgentWallet.Call(merchant, value, "");
                nativeCharged += value;
            } else {
                uint256 amount = bound(amounts[i], 0, cap);
                bytes4 selector = kind == 0 ? TRANSFER : APPROVE;
                list[i] = AgentWallet.Call(address(usd), 0, abi.encodeWithSelector(selector, _spenders[i % 3], amount));
                charged += amount;
            }
        }
        _agentExecute(list, charged, nativeCharged);
        calls["batch"]++;
    }

    /// @dev A channel deposit: approve + open (or top up) in one batch, on the first of the pair's
    ///      two channels (salts 0 and 1) that is not closing.
    function deposit(uint256 amount) external useTime {
        amount = bound(amount, 1, cap);
        (bytes32 id, uint256 salt, bool found) = _channelWhere(false);
        if (!found) return;
        bytes memory call = channels.getChannel(id).deposit == 0
            ? abi.encodeCall(PaymentChannels.open, (provider, modelId, salt, amount))
            : abi.encodeCall(PaymentChannels.topUp, (id, amount));
        AgentWallet.Call[] memory list = new AgentWallet.Call[](2);
        list[0] = AgentWallet.Call(address(usd), 0, abi.encodeWithSelector(APPROVE, address(channels), amount));
        list[1] = AgentWallet.Call(address(channels), 0, call);
        _agentExecute(list, amount, 0);
        calls["deposit"]++;
    }

    /// @dev The agent starts closing an open channel of the wallet's (nothing is spent).
    function closeChannel(uint256 saltSeed) external useTime {
        bytes32 id = channels.channelIdOf(address(wallet), provider, modelId, saltSeed % 2);
        PaymentChannels.Channel memory c = channels.getChannel(id);
        if (c.deposit == 0 || c.closesAt != 0) return;
        _agentExecute(_one(address(channels), 0, abi.encodeCall(PaymentChannels.startClose, (id))), 0, 0);
        calls["closeChannel"]++;
    }

    /// @dev The agent withdraws a closed channel after its challenge period: the deposit comes back
    ///      and, being a refund call, is taken off the period's spent (never below zero).
    function withdrawChannel(uint256 saltSeed) external useTime {
        bytes32 id = channels.channelIdOf(address(wallet), provider, modelId, saltSeed % 2);
        PaymentChannels.Channel memory c = channels.getChannel(id);
        if (c.deposit == 0 || c.closesAt == 0 || block.timestamp < c.closesAt) return;
        uint256 before = usd.balanceOf(address(wallet));
        uint256 spentBefore = modelSpent;
        _agentExecute(_one(address(channels), 0, abi.encodeCall(PaymentChannels.withdraw, (id))), 0, 0);
        uint256 refund = usd.balanceOf(address(wallet)) - before;
        if (refund != 0) {
            uint256 credited = Math.min(refund, spentBefore);
            modelSpent = spentBefore - credited;
            ghostTotalRefunded += refund;
            ghostTotalCredited += credited;
        }
        calls["withdrawChannel"]++;
    }

    /// @dev The first of the wallet's two channels to the pair that is closing (`closing`) or not.
    function _channelWhere(bool closing) internal view returns (bytes32 id, uint256 salt, bool found) {
        for (; salt < 2; ++salt) {
            id = channels.channelIdOf(address(wallet), provider, modelId, salt);
            if ((channels.getChannel(id).closesAt != 0) == closing) return (id, salt, true);
        }
        return (bytes32(0), 0, false);
    }

    /// @dev Calls the policy forbids, each of which must be refused.
    function forbidden(uint256 seed, uint256 amount) external useTime {
        uint256 kind = seed % 4;
        amount = bound(amount, 1, cap);
        bytes memory data;
        address target;
        if (kind == 0) (target, data) = (address(usd), abi.encodeCall(usd.mint, (agent, amount)));
        else if (kind == 1) (target, data) = (_spenders[0], "");
        else if (kind == 2) (target, data) = (address(channels), abi.encodeCall(PaymentChannels.withdrawEarnings, (agent)));
        else (target, data) = (address(usd), abi.encodeWithSelector(usd.transferFrom.selector, address(wallet), agent, amount));
        uint256 before = usd.balanceOf(address(wallet));
        vm.prank(agent);
        (bool ok,) = address(wallet).call(abi.encodeCall(AgentWallet.execute, (target, 0, data)));
        if (ok) ghostForbiddenAccepted++;
        if (usd.balanceOf(address(wallet)) != before) ghostRefusalsThatMoved++;
        calls["forbidden"]++;
    }

    // ---------------------------------------------------------------- others

    /// @dev An accomplice (or anyone holding an allowance) takes what it was approved.
    function pull(uint256 spenderSeed, uint256 amount) external useTime {
        address spender = _spenders[spenderSeed % 3];
        uint256 allowed = usd.allowance(address(wallet), spender);
        if (allowed == 0) return;
        amount = bound(amount, 1, allowed);
        vm.prank(spender);
        usd.transferFrom(address(wallet), spender, amount);
        calls["pull"]++;
    }

    function warp(uint256 seconds_) external {
        currentTime += bound(seconds_, 1, 2 * uint256(period));
        calls["warp"]++;
    }

    function togglePause() external useTime {
        vm.prank(owner);
        if (paused) wallet.unpause();
        else wallet.pause();
        paused = !paused;
        calls["togglePause"]++;
    }

    function revokeOrRestore() external useTime {
        vm.prank(owner);
        if (revoked) wallet.setAgent(agent, 0);
        else wallet.revoke();
        revoked = !revoked;
        calls["revokeOrRestore"]++;
    }

    // ---------------------------------------------------------------- measures

    /// @notice Tokens that left the wallet plus allowances it has granted.
    ///         Saturates at 2^256 - 1 (an unlimited allowance is unlimited exposure).
    function exposure() public view returns (uint256 total) {
        total = initialBalance - usd.balanceOf(address(wallet));
        for (uint256 i; i < _spenders.length; ++i) {
            total = Math.saturatingAdd(total, usd.allowance(address(wallet), _spenders[i]));
        }
    }

    /// @notice Native coin that left the wallet.
    function nativeExposure() public view returns (uint256) {
        return initialNative - address(wallet).balance;
    }

    // ---------------------------------------------------------------- internal

    /// @dev Amounts around the edges: zero, tiny, the cap, the budget, and huge.
    function _amount(uint256 seed) internal view returns (uint256) {
        uint256 kind = seed % 8;
        if (kind == 0) return 0;
        if (kind == 1) return type(uint256).max - (seed % 3);
        if (kind == 2) return cap;
        if (kind == 3) return cap + 1;
        return bound(seed >> 3, 1, budget);
    }

    function _one(address target, uint256 value, bytes memory data) internal pure returns (AgentWallet.Call[] memory list) {
        list = new AgentWallet.Call[](1);
        list[0] = AgentWallet.Call(target, value, data);
    }

    /// @dev Makes the calls as the agent and checks the outcome against the model.
    function _agentExecute(AgentWallet.Call[] memory list, uint256 charged, uint256 nativeCharged) internal {
        bool expected = !paused && !revoked && _fits(charged, cap, _left(budget, modelSpent))
            && _fits(nativeCharged, nativeCap, _left(nativeBudget, modelNativeSpent));
        uint256 before = usd.balanceOf(address(wallet));
        uint256 beforeNative = address(wallet).balance;
        uint256 exposureBefore = exposure();
        vm.prank(agent);
        (bool ok,) = address(wallet).call(abi.encodeCall(AgentWallet.executeBatch, (list)));
        if (ok != expected) ghostMismatches++;
        if (ok) {
            // Saturating: a broken wallet must show as a failed invariant, not as a panic here.
            modelSpent = Math.saturatingAdd(modelSpent, charged);
            modelNativeSpent = Math.saturatingAdd(modelNativeSpent, nativeCharged);
            ghostTotalCharged = Math.saturatingAdd(ghostTotalCharged, charged);
            ghostTotalNativeCharged = Math.saturatingAdd(ghostTotalNativeCharged, nativeCharged);
        } else if (
            usd.balanceOf(address(wallet)) != before || address(wallet).balance != beforeNative
                || exposure() != exposureBefore
        ) {
            ghostRefusalsThatMoved++;
        }
    }

    /// @dev What is left of a budget (zero when the model was already over it).
    function _left(uint256 budget_, uint256 spent) internal pure returns (uint256) {
        return budget_ > spent ? budget_ - spent : 0;
    }

    /// @dev Whether a charge fits a cap and what is left (zero always fits).
    function _fits(uint256 amount, uint256 cap_, uint256 left) internal pure returns (bool) {
        return amount == 0 || (amount <= cap_ && amount <= left);
    }

    /// @dev On a new period: reset the model and take the exposure baselines.
    function _enterPeriod() internal {
        uint256 start = currentTime - (currentTime % period);
        if (start == modelPeriodStart) return;
        modelPeriodStart = start;
        modelSpent = 0;
        modelNativeSpent = 0;
        exposureAtPeriodStart = exposure();
        nativeExposureAtPeriodStart = nativeExposure();
    }

    /// @dev Keeps the largest rise of exposure within a period.
    function _recordRise() internal {
        uint256 e = exposure();
        if (e > exposureAtPeriodStart && e - exposureAtPeriodStart > ghostMaxPeriodRise) {
            ghostMaxPeriodRise = e - exposureAtPeriodStart;
        }
        uint256 n = nativeExposure();
        if (n > nativeExposureAtPeriodStart && n - nativeExposureAtPeriodStart > ghostMaxNativePeriodRise) {
            ghostMaxNativePeriodRise = n - nativeExposureAtPeriodStart;
        }
    }
}
