// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {AgentFixture} from "./utils/AgentFixture.sol";
import {AgentWallet} from "../src/AgentWallet.sol";
import {AgentWalletFactory} from "../src/AgentWalletFactory.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";
import {AllowanceToken} from "./mocks/AllowanceToken.sol";
import {AllowanceSpender} from "./mocks/AllowanceSpender.sol";
import {BatchingAgent} from "./mocks/BatchingAgent.sol";

/// @dev Each top-level call runs as its own transaction (`isolate`), as it does on a chain: the
///      per-transaction cap lives in transient storage, which a transaction clears when it ends.
/// forge-config: default.isolate = true
contract AgentWalletTest is AgentFixture {
    bytes4 internal constant MAGIC = IERC1271.isValidSignature.selector;
    bytes4 internal constant INVALID = 0xffffffff;

    // ---------------------------------------------------------------- creation

    function test_createWallet_initializesThePolicy() public view {
        assertEq(wallet.owner(), owner);
        assertEq(wallet.agent(), agent);
        assertEq(wallet.chainId(), block.chainid);
        assertTrue(factory.isWallet(address(wallet)));
        assertTrue(wallet.isCallAllowed(address(usd), TRANSFER));
        assertFalse(wallet.isCallAllowed(address(usd), TRANSFER_FROM));
        assertEq(wallet.budgetTokens().length, 2);
        assertEq(wallet.allowedCalls().length, 7);
        assertEq(wallet.signatureVerifiers()[0], address(channels));
        AgentWallet.BudgetStatus memory b = wallet.budgetOf(address(usd));
        assertEq(b.budget, BUDGET);
        assertEq(b.maxPerTransaction, CAP);
        assertEq(b.period, PERIOD);
        assertEq(b.periodStart, _periodStart(block.timestamp));
        assertEq(b.resetsAt, _periodStart(block.timestamp) + PERIOD);
        assertEq(b.left, BUDGET);
    }

    function test_createWallet_atThePredictedAddress() public {
        address predicted = factory.predictWallet(address(this), bytes32(uint256(7)));
        vm.expectEmit(address(factory));
        emit AgentWalletFactory.WalletCreated(predicted, owner, agent, address(this), bytes32(uint256(7)));
        AgentWallet created = _createWallet(owner, agent, bytes32(uint256(7)));
        assertEq(address(created), predicted);
        // The salt is bound to the creator: someone else gets another address for the same salt.
        assertTrue(factory.predictWallet(stranger, bytes32(uint256(7))) != predicted);
    }

    function test_createWallet_revertsOnZeroOwner() public {
        vm.expectRevert(AgentWalletFactory.ZeroOwner.selector);
        factory.createWallet(_config(address(0), agent), bytes32(uint256(1)));
    }

    function test_createWallet_revertsOnZeroAgent() public {
        vm.expectRevert(AgentWallet.ZeroAgent.selector);
        factory.createWallet(_config(owner, address(0)), bytes32(uint256(1)));
    }

    function test_createWallet_revertsOnImpossiblePeriod() public {
        uint64[3] memory periods = [uint64(0), uint64(59), uint64(366 days + 1)];
        for (uint256 i; i < periods.length; ++i) {
            AgentWallet.Config memory config = _config(owner, agent);
            config.budgets[0].period = periods[i];
            vm.expectRevert(abi.encodeWithSelector(AgentWallet.InvalidPeriod.selector, periods[i], 60, 366 days));
            factory.createWallet(config, bytes32(i + 1));
        }
    }

    function test_createWallet_revertsOnCapAboveBudgetOrZero() public {
        AgentWallet.Config memory config = _config(owner, agent);
        config.budgets[0].maxPerTransaction = BUDGET + 1;
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.InvalidPerTransactionCap.selector, BUDGET + 1, BUDGET));
        factory.createWallet(config, bytes32(uint256(1)));
        config.budgets[0].maxPerTransaction = 0;
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.InvalidPerTransactionCap.selector, 0, BUDGET));
        factory.createWallet(config, bytes32(uint256(2)));
    }

    function test_initialize_revertsTwiceAndOnTheImplementation() public {
        vm.expectRevert(AgentWallet.AlreadyInitialized.selector);
        wallet.initialize(_config(stranger, stranger));
        AgentWallet implementation = factory.implementation();
        vm.expectRevert(AgentWallet.AlreadyInitialized.selector);
        implementation.initialize(_config(stranger, stranger));
    }

    // ---------------------------------------------------------------- spending

    function test_execute_transferCountsAgainstTheBudget() public {
        uint256 start = _periodStart(block.timestamp);
        vm.expectEmit(address(wallet));
        emit AgentWallet.Spent(address(usd), address(usd), merchant, TRANSFER, 30e6, start, 30e6);
        vm.expectEmit(address(wallet));
        emit AgentWallet.Executed(address(usd), TRANSFER, 0);
        _pay(merchant, 30e6);
        assertEq(usd.balanceOf(merchant), 30e6);
        assertEq(wallet.budgetLeft(address(usd)), BUDGET - 30e6);
    }

    function test_execute_revertsOverThePeriodBudget() public {
        _pay(merchant, 40e6);
        vm.warp(block.timestamp + 1);
        _pay(merchant, 40e6);
        vm.warp(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.OverBudget.selector, address(usd), 30e6, 20e6));
        _pay(merchant, 30e6);
        assertEq(usd.balanceOf(merchant), 80e6, "nothing more spent");
    }

    function test_execute_revertsOverThePerTransactionCap() public {
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.OverPerTransactionCap.selector, address(usd), CAP + 1, CAP));
        _pay(merchant, CAP + 1);
        assertEq(usd.balanceOf(merchant), 0);
    }

    function test_executeBatch_capCoversTheWholeTransaction() public {
        AgentWallet.Call[] memory calls = new AgentWallet.Call[](2);
        calls[0] = AgentWallet.Call(address(usd), 0, abi.encodeWithSelector(TRANSFER, merchant, 30e6));
        calls[1] = AgentWallet.Call(address(usd), 0, abi.encodeWithSelector(TRANSFER, accomplice, 30e6));
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.OverPerTransactionCap.selector, address(usd), 60e6, CAP));
        vm.prank(agent);
        wallet.executeBatch(calls);
        assertEq(usd.balanceOf(merchant), 0, "all or nothing");
    }

    function test_execute_capCoversSeveralCallsInOneTransaction() public {
        BatchingAgent batcher = new BatchingAgent();
        vm.prank(owner);
        wallet.setAgent(address(batcher), 0);
        bytes memory payment = abi.encodeWithSelector(TRANSFER, merchant, 30e6);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.OverPerTransactionCap.selector, address(usd), 60e6, CAP));
        batcher.executeRepeatedly(wallet, address(usd), payment, 2);
        // One call per transaction is within the cap; the next transaction starts from zero.
        batcher.executeRepeatedly(wallet, address(usd), payment, 1);
        batcher.executeRepeatedly(wallet, address(usd), payment, 1);
        assertEq(usd.balanceOf(merchant), 60e6);
    }

    function test_executeBatch_revertsWhenEmpty() public {
        vm.expectRevert(AgentWallet.EmptyBatch.selector);
        vm.prank(agent);
        wallet.executeBatch(new AgentWallet.Call[](0));
    }

    function test_budget_resetsAtThePeriodBoundaryAndNotBefore() public {
        uint256 boundary = _periodStart(block.timestamp) + PERIOD;
        _pay(merchant, 40e6);
        vm.warp(block.timestamp + 1);
        _pay(merchant, 40e6);
        vm.warp(block.timestamp + 1);
        _pay(merchant, 20e6);
        assertEq(wallet.budgetLeft(address(usd)), 0);

        vm.warp(boundary - 1);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.OverBudget.selector, address(usd), 1, 0));
        _pay(merchant, 1);

        vm.warp(boundary);
        assertEq(wallet.budgetLeft(address(usd)), BUDGET);
        vm.expectEmit(address(wallet));
        emit AgentWallet.Spent(address(usd), address(usd), merchant, TRANSFER, 40e6, boundary, 40e6);
        _pay(merchant, 40e6);
    }

    function test_budget_holdsForSpendsInTheSameBlock() public {
        // Parallel requests land in one block: each fits, together they do not.
        _pay(merchant, 40e6);
        _pay(accomplice, 40e6);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.OverBudget.selector, address(usd), 40e6, 20e6));
        _pay(merchant, 40e6);
    }

    function test_approve_toAnAccompliceCountsAgainstTheBudget() public {
        _agentCall(address(usd), 0, abi.encodeWithSelector(APPROVE, accomplice, 40e6));
        assertEq(wallet.budgetLeft(address(usd)), BUDGET - 40e6);
        // The accomplice pulls it later: nothing more is counted, and nothing more can be spent.
        vm.warp(block.timestamp + 1);
        vm.prank(accomplice);
        usd.transferFrom(address(wallet), accomplice, 40e6);
        _pay(merchant, 40e6);
        vm.warp(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.OverBudget.selector, address(usd), 40e6, 20e6));
        _agentCall(address(usd), 0, abi.encodeWithSelector(APPROVE, accomplice, 40e6));
    }

    function test_approve_ofTheMaximumIsRefused() public {
        vm.expectRevert(
            abi.encodeWithSelector(AgentWallet.OverPerTransactionCap.selector, address(usd), type(uint256).max, CAP)
        );
        _agentCall(address(usd), 0, abi.encodeWithSelector(APPROVE, accomplice, type(uint256).max));
    }

    function test_approve_ofZeroIsFree() public {
        _agentCall(address(usd), 0, abi.encodeWithSelector(APPROVE, accomplice, 0));
        assertEq(wallet.budgetLeft(address(usd)), BUDGET);
    }

    function test_increaseAllowance_countsAgainstTheBudget() public {
        AllowanceToken token = new AllowanceToken();
        token.mint(address(wallet), 1_000e6);
        vm.startPrank(owner);
        wallet.setBudget(address(token), 50e6, 50e6, PERIOD);
        wallet.setCallAllowed(address(token), AllowanceToken.increaseAllowance.selector, true);
        wallet.setCallAllowed(address(token), AllowanceToken.decreaseAllowance.selector, true);
        vm.stopPrank();
        _agentCall(address(token), 0, abi.encodeCall(AllowanceToken.increaseAllowance, (accomplice, 30e6)));
        assertEq(wallet.budgetLeft(address(token)), 20e6);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.OverBudget.selector, address(token), 30e6, 20e6));
        _agentCall(address(token), 0, abi.encodeCall(AllowanceToken.increaseAllowance, (accomplice, 30e6)));
        // Decreasing an allowance exposes nothing: allowed on a budgeted token, and free.
        _agentCall(address(token), 0, abi.encodeCall(AllowanceToken.decreaseAllowance, (accomplice, 30e6)));
        assertEq(token.allowance(address(wallet), accomplice), 0);
        assertEq(wallet.budgetLeft(address(token)), 20e6, "a decrease does not refund the budget");
    }

    function test_transferFrom_outOfTheWalletCounts() public {
        vm.startPrank(owner);
        wallet.setCallAllowed(address(usd), TRANSFER_FROM, true);
        // The owner lets the wallet move its own tokens through transferFrom.
        wallet.ownerExecute(address(usd), 0, abi.encodeWithSelector(APPROVE, address(wallet), 100e6));
        vm.stopPrank();
        _agentCall(address(usd), 0, abi.encodeWithSelector(TRANSFER_FROM, address(wallet), merchant, 25e6));
        assertEq(usd.balanceOf(merchant), 25e6);
        assertEq(wallet.budgetLeft(address(usd)), BUDGET - 25e6);
    }

    function test_transferFrom_ofSomeoneElsesTokensIsNotCounted() public {
        vm.prank(owner);
        wallet.setCallAllowed(address(usd), TRANSFER_FROM, true);
        usd.mint(stranger, 50e6);
        vm.prank(stranger);
        usd.approve(address(wallet), 50e6);
        _agentCall(address(usd), 0, abi.encodeWithSelector(TRANSFER_FROM, stranger, merchant, 50e6));
        assertEq(usd.balanceOf(merchant), 50e6);
        assertEq(wallet.budgetLeft(address(usd)), BUDGET);
    }

    function test_execute_nativeValueCountsAgainstTheNativeBudget() public {
        _agentCall(merchant, 0.4 ether, "");
        assertEq(merchant.balance, 0.4 ether);
        assertEq(wallet.budgetLeft(address(0)), 0.6 ether);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.OverPerTransactionCap.selector, address(0), 0.6 ether, NATIVE_CAP));
        _agentCall(merchant, 0.6 ether, "");
    }

    function test_execute_revertsForATokenWithoutABudget() public {
        AllowanceToken token = new AllowanceToken();
        token.mint(address(wallet), 1e6);
        vm.prank(owner);
        wallet.setCallAllowed(address(token), TRANSFER, true);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.NoBudget.selector, address(token), 1));
        _agentCall(address(token), 0, abi.encodeWithSelector(TRANSFER, merchant, 1));
    }

    function test_execute_revertsForAnUnmeteredCallOnABudgetedToken() public {
        vm.prank(owner);
        wallet.setCallAllowed(address(usd), usd.mint.selector, true);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.UnmeteredTokenCall.selector, address(usd), usd.mint.selector));
        _agentCall(address(usd), 0, abi.encodeCall(usd.mint, (merchant, 1)));
    }

    function test_execute_revertsOnMalformedCallData() public {
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.MalformedCall.selector, merchant, bytes4(0), 2));
        _agentCall(merchant, 0, hex"0102");
        bytes memory short = abi.encodePacked(TRANSFER, bytes32(uint256(uint160(merchant))));
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.MalformedCall.selector, address(usd), TRANSFER, 36));
        _agentCall(address(usd), 0, short);
    }

    // ---------------------------------------------------------------- call policy

    function test_execute_revertsForATargetNotAllowed() public {
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.CallNotAllowed.selector, stranger, bytes4(0)));
        _agentCall(stranger, 0.1 ether, "");
    }

    function test_execute_revertsForASelectorNotAllowed() public {
        bytes memory data = abi.encodeCall(PaymentChannels.withdrawEarnings, (agent));
        vm.expectRevert(
            abi.encodeWithSelector(AgentWallet.CallNotAllowed.selector, address(channels), PaymentChannels.withdrawEarnings.selector)
        );
        _agentCall(address(channels), 0, data);
    }

    function test_execute_revertsThroughAContractThatHoldsAnAllowance() public {
        AllowanceSpender router = new AllowanceSpender();
        // The owner trusted a router with the wallet's tokens; the agent must not reach it.
        vm.prank(owner);
        wallet.ownerExecute(address(usd), 0, abi.encodeWithSelector(APPROVE, address(router), type(uint256).max));
        bytes memory pull = abi.encodeCall(AllowanceSpender.pull, (usd, address(wallet), accomplice, 500e6));
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.CallNotAllowed.selector, address(router), AllowanceSpender.pull.selector));
        _agentCall(address(router), 0, pull);
        address[] memory targets = new address[](1);
        targets[0] = address(router);
        bytes[] memory data = new bytes[](1);
        data[0] = pull;
        vm.expectRevert(
            abi.encodeWithSelector(AgentWallet.CallNotAllowed.selector, address(router), AllowanceSpender.multicall.selector)
        );
        _agentCall(address(router), 0, abi.encodeCall(AllowanceSpender.multicall, (targets, data)));
        assertEq(usd.balanceOf(accomplice), 0);
    }

    function test_setCallAllowed_revertsForTheWalletItselfOrZero() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.TargetNotAllowed.selector, address(wallet)));
        wallet.setCallAllowed(address(wallet), AgentWallet.setBudget.selector, true);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.TargetNotAllowed.selector, address(0)));
        wallet.setCallAllowed(address(0), bytes4(0), true);
        vm.stopPrank();
    }

    function test_setCallAllowed_canDisallow() public {
        vm.prank(owner);
        wallet.setCallAllowed(address(usd), TRANSFER, false);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.CallNotAllowed.selector, address(usd), TRANSFER));
        _pay(merchant, 1);
        assertEq(wallet.allowedCalls().length, 6);
    }

    // ---------------------------------------------------------------- who may act

    function test_execute_revertsForAStranger() public {
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.NotAgent.selector, stranger));
        vm.prank(stranger);
        wallet.execute(address(usd), 0, abi.encodeWithSelector(TRANSFER, stranger, 1));
    }

    function test_execute_revertsAfterRevocation() public {
        vm.expectEmit(address(wallet));
        emit AgentWallet.AgentRevoked(agent);
        vm.prank(owner);
        wallet.revoke();
        assertEq(wallet.agent(), address(0));
        assertTrue(wallet.isRevokedKey(agent));
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.AgentKeyRevoked.selector, agent));
        _pay(merchant, 1);
    }

    function test_execute_revertsWhilePausedAndWorksAfterUnpause() public {
        vm.prank(owner);
        wallet.pause();
        vm.expectRevert(AgentWallet.WalletPaused.selector);
        _pay(merchant, 1);
        vm.prank(owner);
        wallet.unpause();
        _pay(merchant, 1);
        assertEq(usd.balanceOf(merchant), 1);
    }

    function test_execute_revertsAfterTheKeyExpires() public {
        uint64 expiresAt = uint64(block.timestamp + 1 hours);
        vm.prank(owner);
        wallet.setAgent(agent, expiresAt);
        _pay(merchant, 1);
        vm.warp(expiresAt);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.AgentKeyExpired.selector, expiresAt, expiresAt));
        _pay(merchant, 1);
    }

    function test_setAgent_revertsForAnExpiryInThePast() public {
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.InvalidExpiry.selector, uint64(block.timestamp), block.timestamp));
        vm.prank(owner);
        wallet.setAgent(agent, uint64(block.timestamp));
    }

    function test_setAgent_rotatesTheKey() public {
        (address next,) = makeAddrAndKey("next agent");
        vm.prank(owner);
        wallet.setAgent(next, 0);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.AgentKeyRevoked.selector, agent));
        _pay(merchant, 1);
        vm.prank(next);
        wallet.execute(address(usd), 0, abi.encodeWithSelector(TRANSFER, merchant, 1));
        assertEq(usd.balanceOf(merchant), 1);
    }

    function test_ownerFunctions_revertForOthers() public {
        vm.startPrank(agent);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.NotOwner.selector, agent));
        wallet.setBudget(address(usd), 1e30, 1e30, PERIOD);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.NotOwner.selector, agent));
        wallet.unpause();
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.NotOwner.selector, agent));
        wallet.ownerExecute(address(usd), 0, abi.encodeWithSelector(TRANSFER, agent, 1));
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.NotOwner.selector, agent));
        wallet.setAgent(agent, 0);
        vm.stopPrank();
    }

    function test_ownerExecute_worksWhilePausedAndRevoked() public {
        vm.startPrank(owner);
        wallet.pause();
        wallet.revoke();
        wallet.ownerExecute(address(usd), 0, abi.encodeWithSelector(TRANSFER, owner, FUNDS));
        wallet.ownerExecute(owner, 1 ether, "");
        vm.stopPrank();
        assertEq(usd.balanceOf(owner), FUNDS);
        assertEq(owner.balance, 1 ether);
    }

    function test_execute_revertsOnAnotherChain() public {
        uint256 home = block.chainid;
        vm.chainId(home + 1);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.WrongChain.selector, home, home + 1));
        _pay(merchant, 1);
    }

    // ---------------------------------------------------------------- budgets set by the owner

    function test_setBudget_carriesTheSpentAmountOver() public {
        _pay(merchant, 40e6);
        vm.prank(owner);
        wallet.setBudget(address(usd), 50e6, 50e6, 1 hours);
        assertEq(wallet.budgetLeft(address(usd)), 10e6);
        vm.prank(owner);
        wallet.setBudget(address(usd), 30e6, 30e6, 1 hours);
        assertEq(wallet.budgetLeft(address(usd)), 0, "lowered below what was spent");
    }

    function test_setBudget_ofZeroRemovesIt() public {
        vm.prank(owner);
        wallet.setBudget(address(usd), 0, 0, 0);
        assertEq(wallet.budgetTokens().length, 1);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.NoBudget.selector, address(usd), 1));
        _pay(merchant, 1);
    }

    // ---------------------------------------------------------------- ERC-1271

    function test_isValidSignature_acceptsTheAgentKeyForAVerifier() public {
        bytes32 digest = keccak256("voucher");
        vm.prank(address(channels));
        assertEq(wallet.isValidSignature(digest, signDigest(agentKey, digest)), MAGIC);
    }

    function test_isValidSignature_refusesEverythingElse() public {
        bytes32 digest = keccak256("voucher");
        bytes memory signature = signDigest(agentKey, digest);
        (, uint256 ownerKey) = makeAddrAndKey("owner");

        // a caller that is not a verifier (a token checking a permit, Permit2, anyone)
        vm.prank(address(usd));
        assertEq(wallet.isValidSignature(digest, signature), INVALID, "not a verifier");
        // another key, even the owner's; garbage
        vm.startPrank(address(channels));
        assertEq(wallet.isValidSignature(digest, signDigest(ownerKey, digest)), INVALID, "owner key");
        assertEq(wallet.isValidSignature(digest, hex"1234"), INVALID, "garbage");
        assertEq(wallet.isValidSignature(keccak256("other"), signature), INVALID, "other digest");
        vm.stopPrank();

        uint256 snapshot = vm.snapshotState();
        vm.prank(owner);
        wallet.pause();
        vm.prank(address(channels));
        assertEq(wallet.isValidSignature(digest, signature), INVALID, "paused");
        vm.revertToState(snapshot);

        vm.prank(owner);
        wallet.revoke();
        vm.prank(address(channels));
        assertEq(wallet.isValidSignature(digest, signature), INVALID, "revoked");
        vm.revertToState(snapshot);

        vm.prank(owner);
        wallet.setAgent(agent, uint64(block.timestamp + 10));
        vm.warp(block.timestamp + 10);
        vm.prank(address(channels));
        assertEq(wallet.isValidSignature(digest, signature), INVALID, "expired");
        vm.revertToState(snapshot);

        vm.chainId(block.chainid + 1);
        vm.prank(address(channels));
        assertEq(wallet.isValidSignature(digest, signature), INVALID, "another chain");
    }

    // ---------------------------------------------------------------- payment channels

    function test_channel_walletOpensAgentSignsProviderRedeems() public {
        bytes32 channelId = _openFromWallet(30e6);
        assertEq(channelId, channels.channelIdOf(address(wallet), provider, modelId, 0));
        assertEq(wallet.budgetLeft(address(usd)), BUDGET - 30e6, "the deposit counted through its approval");
        PaymentChannels.Channel memory c = channels.getChannel(channelId);
        assertEq(c.sender, address(wallet));
        assertEq(c.deposit, 30e6);

        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 12e6);
        bytes memory signature = _sign(agentKey, voucher);
        vm.prank(provider);
        uint256 paid = channels.redeem(voucher, signature);
        assertEq(paid, 12e6);
        assertGt(channels.earnings(provider), 0, "provider credited");
    }

    function test_channel_topUpCountsAndIsCapped() public {
        bytes32 channelId = _openFromWallet(30e6);
        AgentWallet.Call[] memory calls = new AgentWallet.Call[](2);
        calls[0] = AgentWallet.Call(address(usd), 0, abi.encodeWithSelector(APPROVE, address(channels), 30e6));
        calls[1] = AgentWallet.Call(address(channels), 0, abi.encodeCall(PaymentChannels.topUp, (channelId, 30e6)));
        vm.prank(agent);
        wallet.executeBatch(calls);
        assertEq(wallet.budgetLeft(address(usd)), BUDGET - 60e6);
        calls[0] = AgentWallet.Call(address(usd), 0, abi.encodeWithSelector(APPROVE, address(channels), 40e6));
        calls[1] = AgentWallet.Call(address(channels), 0, abi.encodeCall(PaymentChannels.topUp, (channelId, 40e6)));
        vm.warp(block.timestamp + 1);
        vm.prank(agent);
        wallet.executeBatch(calls);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.OverBudget.selector, address(usd), 1e6, 0));
        _pay(merchant, 1e6);
    }

    function test_channel_voucherFromARevokedKeyIsRefused() public {
        bytes32 channelId = _openFromWallet(30e6);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 5e6);
        bytes memory signature = _sign(agentKey, voucher);
        vm.prank(owner);
        wallet.revoke();
        _expectRedeemRevert(voucher, signature, PaymentChannels.InvalidVoucherSignature.selector);
    }

    function test_channel_voucherForAnotherChainIsRefused() public {
        bytes32 channelId = _openFromWallet(30e6);
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, 5e6);
        bytes memory signature = signDigest(agentKey, _digest(address(channels), block.chainid + 1, voucher));
        _expectRedeemRevert(voucher, signature, PaymentChannels.InvalidVoucherSignature.selector);
    }

    function test_channel_withdrawRefundsTheWallet() public {
        bytes32 channelId = _openFromWallet(30e6);
        uint256 before = usd.balanceOf(address(wallet));
        _agentCall(address(channels), 0, abi.encodeCall(PaymentChannels.startClose, (channelId)));
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        _agentCall(address(channels), 0, abi.encodeCall(PaymentChannels.withdraw, (channelId)));
        assertEq(usd.balanceOf(address(wallet)), before + 30e6);
    }

    /// @dev Has the provider redeem `amount` on `channelId` with the agent's voucher.
    function _redeemFromWallet(bytes32 channelId, uint256 amount) internal {
        PaymentChannels.Voucher memory voucher = _voucher(channelId, 0, amount);
        bytes memory signature = _sign(agentKey, voucher);
        vm.prank(provider);
        channels.redeem(voucher, signature);
    }

    /// @dev Has the agent start closing `channelId`, waits out the challenge period, and withdraws.
    function _closeAndWithdrawFromWallet(bytes32 channelId) internal {
        _agentCall(address(channels), 0, abi.encodeCall(PaymentChannels.startClose, (channelId)));
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        _agentCall(address(channels), 0, abi.encodeCall(PaymentChannels.withdraw, (channelId)));
    }

    function test_refund_withdrawGivesTheUnspentDepositBackToTheBudget() public {
        bytes32 channelId = _openFromWallet(30e6);
        _pay(merchant, 20e6);
        _redeemFromWallet(channelId, 12e6);
        assertEq(wallet.budgetOf(address(usd)).spent, 50e6, "deposit and payment counted");
        uint256 start = _periodStart(block.timestamp + CHALLENGE_PERIOD);
        assertEq(start, _periodStart(block.timestamp), "the refund lands in the same period");

        _agentCall(address(channels), 0, abi.encodeCall(PaymentChannels.startClose, (channelId)));
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        vm.expectEmit(address(wallet));
        emit AgentWallet.Refunded(address(usd), address(channels), PaymentChannels.withdraw.selector, 18e6, 18e6, start, 32e6);
        _agentCall(address(channels), 0, abi.encodeCall(PaymentChannels.withdraw, (channelId)));

        AgentWallet.BudgetStatus memory b = wallet.budgetOf(address(usd));
        assertEq(b.spent, 32e6, "spent = deposit - refund + payment = what left the wallet for good");
        assertEq(b.left, BUDGET - 32e6);
        assertEq(usd.balanceOf(address(wallet)), FUNDS - 32e6);
        // The refunded 18e6 can be spent again in the same period, up to the budget exactly.
        _pay(merchant, 40e6);
        _pay(merchant, 28e6);
        assertEq(wallet.budgetLeft(address(usd)), 0);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.OverBudget.selector, address(usd), 1, 0));
        _pay(merchant, 1);
    }

    function test_refund_inALaterPeriodOnlyLowersThatPeriodsSpentToZero() public {
        bytes32 channelId = _openFromWallet(30e6);
        vm.warp(_periodStart(block.timestamp) + PERIOD); // a new period: the deposit's count has reset
        _pay(merchant, 10e6);
        uint256 start = _periodStart(block.timestamp);
        _agentCall(address(channels), 0, abi.encodeCall(PaymentChannels.startClose, (channelId)));
        vm.warp(block.timestamp + CHALLENGE_PERIOD);
        vm.expectEmit(address(wallet));
        emit AgentWallet.Refunded(address(usd), address(channels), PaymentChannels.withdraw.selector, 30e6, 10e6, start, 0);
        _agentCall(address(channels), 0, abi.encodeCall(PaymentChannels.withdraw, (channelId)));
        assertEq(wallet.budgetOf(address(usd)).spent, 0, "never below zero");
        assertEq(wallet.budgetLeft(address(usd)), BUDGET, "never above the budget");
    }

    function test_refund_callsNotMarkedCreditNothing() public {
        bytes32 channelId = _openFromWallet(30e6);
        vm.prank(owner);
        vm.expectEmit(address(wallet));
        emit AgentWallet.RefundCallSet(address(channels), PaymentChannels.withdraw.selector, false);
        wallet.setRefundCall(address(channels), PaymentChannels.withdraw.selector, false);
        assertFalse(wallet.isRefundCall(address(channels), PaymentChannels.withdraw.selector));
        _closeAndWithdrawFromWallet(channelId);
        assertEq(usd.balanceOf(address(wallet)), FUNDS, "the deposit came back");
        assertEq(wallet.budgetOf(address(usd)).spent, 30e6, "but the budget only counts what left");
    }

    function test_refund_tokensSentInByOthersCreditNothing() public {
        _pay(merchant, 25e6);
        usd.mint(address(wallet), 25e6); // a gift outside any refund call
        assertEq(wallet.budgetOf(address(usd)).spent, 25e6);
    }

    function test_setRefundCall_onlyOwnerAndNeverTheWallet() public {
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.NotOwner.selector, agent));
        vm.prank(agent);
        wallet.setRefundCall(address(usd), TRANSFER, true);
        vm.expectRevert(abi.encodeWithSelector(AgentWallet.TargetNotAllowed.selector, address(wallet)));
        vm.prank(owner);
        wallet.setRefundCall(address(wallet), TRANSFER, true);
        AgentWallet.CallPermission[] memory listed = wallet.refundCalls();
        assertEq(listed.length, 1);
        assertEq(listed[0].target, address(channels));
        assertEq(listed[0].selector, PaymentChannels.withdraw.selector);
    }

    function testFuzz_refund_budgetCountsWhatLeftNetOfRefunds(uint256 deposit, uint256 redeemed, uint256 paid) public {
        deposit = bound(deposit, 1, CAP);
        redeemed = bound(redeemed, 0, deposit);
        paid = bound(paid, 0, BUDGET - deposit > CAP ? CAP : BUDGET - deposit);
        bytes32 channelId = _openFromWallet(deposit);
        if (paid != 0) _pay(merchant, paid);
        if (redeemed != 0) _redeemFromWallet(channelId, redeemed);
        _closeAndWithdrawFromWallet(channelId);
        assertEq(wallet.budgetOf(address(usd)).spent, redeemed + paid, "spent = what left the wallet for good");
        assertEq(FUNDS - usd.balanceOf(address(wallet)), redeemed + paid);
    }

    // ---------------------------------------------------------------- fuzz

    /// @notice Whatever sequence of payments and waits the agent tries, every period's spend stays
    ///         within the budget, each payment within the cap, and each refusal moves nothing.
    function testFuzz_spends_neverExceedTheBudgetInAnyPeriod(uint256[16] memory amounts, uint256[16] memory waits)
        public
    {
        uint256 currentStart = _periodStart(block.timestamp);
        uint256 spentThisPeriod;
        for (uint256 i; i < amounts.length; ++i) {
            vm.warp(block.timestamp + bound(waits[i], 0, 2 * PERIOD));
            uint256 start = _periodStart(block.timestamp);
            if (start != currentStart) {
                currentStart = start;
                spentThisPeriod = 0;
            }
            uint256 amount = bound(amounts[i], 1, 2 * BUDGET);
            uint256 before = usd.balanceOf(address(wallet));
            vm.prank(agent);
            (bool ok,) = address(wallet).call(
                abi.encodeCall(AgentWallet.execute, (address(usd), 0, abi.encodeWithSelector(TRANSFER, merchant, amount)))
            );
            bool fits = amount <= CAP && spentThisPeriod + amount <= BUDGET;
            assertEq(ok, fits, "accepted exactly when within the cap and the budget left");
            if (ok) spentThisPeriod += amount;
            else assertEq(usd.balanceOf(address(wallet)), before, "a refusal moves nothing");
            assertLe(spentThisPeriod, BUDGET, "period spend within the budget");
            assertEq(wallet.budgetLeft(address(usd)), BUDGET - spentThisPeriod, "budget left tracks");
        }
    }

    /// @notice A period always starts on a multiple of its length, and the budget resets exactly there.
    function testFuzz_budget_resetsOnlyAtAlignedBoundaries(uint64 period, uint256 offset) public {
        period = uint64(bound(period, 60, 366 days));
        vm.prank(owner);
        wallet.setBudget(address(usd), BUDGET, BUDGET, period);
        vm.warp(block.timestamp + bound(offset, 0, 400 days));
        _agentCall(address(usd), 0, abi.encodeWithSelector(TRANSFER, merchant, BUDGET));
        AgentWallet.BudgetStatus memory b = wallet.budgetOf(address(usd));
        assertEq(b.periodStart % period, 0, "aligned");
        assertLe(b.periodStart, block.timestamp, "started");
        assertGt(uint256(b.periodStart) + period, block.timestamp, "not over");
        vm.warp(uint256(b.resetsAt) - 1);
        assertEq(wallet.budgetLeft(address(usd)), 0, "not before the boundary");
        vm.warp(b.resetsAt);
        assertEq(wallet.budgetLeft(address(usd)), BUDGET, "at the boundary");
    }

    /// @notice Whatever amount is approved, to whomever, the approval counts in full or is refused.
    function testFuzz_approve_countsInFull(address spender, uint256 amount) public {
        vm.assume(spender != address(0));
        uint256 left = wallet.budgetLeft(address(usd));
        vm.prank(agent);
        (bool ok,) = address(wallet).call(
            abi.encodeCall(AgentWallet.execute, (address(usd), 0, abi.encodeWithSelector(APPROVE, spender, amount)))
        );
        assertEq(ok, amount <= CAP, "accepted exactly within the cap");
        if (ok) assertEq(wallet.budgetLeft(address(usd)), left - amount);
        else assertEq(usd.allowance(address(wallet), spender), 0);
    }
}
