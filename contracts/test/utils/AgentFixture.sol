// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./Fixture.sol";
import {AgentWallet} from "../../src/AgentWallet.sol";
import {AgentWalletFactory} from "../../src/AgentWalletFactory.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";

/// @notice The Gotong stack plus an agent wallet: an owner, an agent key, a budget in usd (per day,
///         with a per-transaction cap) and in the native coin, and a call policy allowing usd
///         `transfer` and `approve`, the channel calls, and plain native payments to `merchant`.
abstract contract AgentFixture is Fixture {
    uint128 internal constant BUDGET = 100e6;
    uint128 internal constant CAP = 40e6;
    uint64 internal constant PERIOD = 1 days;
    uint128 internal constant NATIVE_BUDGET = 1 ether;
    uint128 internal constant NATIVE_CAP = 0.5 ether;
    uint256 internal constant FUNDS = 1_000e6;

    bytes4 internal constant TRANSFER = 0xa9059cbb;
    bytes4 internal constant APPROVE = 0x095ea7b3;
    bytes4 internal constant TRANSFER_FROM = 0x23b872dd;

    AgentWalletFactory internal factory;
    AgentWallet internal wallet;
    address internal owner;
    address internal agent;
    uint256 internal agentKey;
    address internal merchant;
    address internal accomplice;

    function setUp() public virtual override {
        super.setUp();
        owner = makeAddr("owner");
        (agent, agentKey) = makeAddrAndKey("agent");
        merchant = makeAddr("merchant");
        accomplice = makeAddr("accomplice");
        factory = new AgentWalletFactory();
        wallet = _createWallet(owner, agent, bytes32(0));
        usd.mint(address(wallet), FUNDS);
        vm.deal(address(wallet), 10 ether);
    }

    /// @dev The default policy.
    function _config(address owner_, address agent_) internal view returns (AgentWallet.Config memory config) {
        config.owner = owner_;
        config.agent = agent_;
        config.budgets = new AgentWallet.BudgetConfig[](2);
        config.budgets[0] = AgentWallet.BudgetConfig(address(usd), BUDGET, CAP, PERIOD);
        config.budgets[1] = AgentWallet.BudgetConfig(address(0), NATIVE_BUDGET, NATIVE_CAP, PERIOD);
        config.calls = new AgentWallet.CallPermission[](7);
        config.calls[0] = AgentWallet.CallPermission(address(usd), TRANSFER);
        config.calls[1] = AgentWallet.CallPermission(address(usd), APPROVE);
        config.calls[2] = AgentWallet.CallPermission(address(channels), PaymentChannels.open.selector);
        config.calls[3] = AgentWallet.CallPermission(address(channels), PaymentChannels.topUp.selector);
        config.calls[4] = AgentWallet.CallPermission(address(channels), PaymentChannels.startClose.selector);
        config.calls[5] = AgentWallet.CallPermission(address(channels), PaymentChannels.withdraw.selector);
        config.calls[6] = AgentWallet.CallPermission(merchant, bytes4(0));
        config.signatureVerifiers = new address[](1);
        config.signatureVerifiers[0] = address(channels);
        config.refundCalls = new AgentWallet.CallPermission[](1);
        config.refundCalls[0] = AgentWallet.CallPermission(address(channels), PaymentChannels.withdraw.selector);
    }

    /// @dev Creates a wallet with the default policy.
    function _createWallet(address owner_, address agent_, bytes32 salt) internal returns (AgentWallet) {
        return factory.createWallet(_config(owner_, agent_), salt);
    }

    /// @dev Has the agent call `target` with `data`.
    function _agentCall(address target, uint256 value, bytes memory data) internal returns (bytes memory) {
        vm.prank(agent);
        return wallet.execute(target, value, data);
    }

    /// @dev Has the agent transfer usd to `to`.
    function _pay(address to, uint256 amount) internal {
        _agentCall(address(usd), 0, abi.encodeWithSelector(TRANSFER, to, amount));
    }

    /// @dev The start of the period containing `t`.
    function _periodStart(uint256 t) internal pure returns (uint256) {
        return t - (t % PERIOD);
    }

    /// @dev Approve + open a channel from the wallet to `provider` for `modelId`, in one batch.
    function _openFromWallet(uint256 amount) internal returns (bytes32 channelId) {
        AgentWallet.Call[] memory calls = new AgentWallet.Call[](2);
        calls[0] = AgentWallet.Call(address(usd), 0, abi.encodeWithSelector(APPROVE, address(channels), amount));
        calls[1] = AgentWallet.Call(address(channels), 0, abi.encodeCall(PaymentChannels.open, (provider, modelId, 0, amount)));
        vm.prank(agent);
        bytes[] memory results = wallet.executeBatch(calls);
        channelId = abi.decode(results[1], (bytes32));
    }
}
