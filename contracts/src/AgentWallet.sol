// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {TransientSlot} from "@openzeppelin/contracts/utils/TransientSlot.sol";

/// @title AgentWallet
/// @notice A wallet an autonomous agent spends from, inside limits its owner sets and can revoke at
///         once. The owner holds full control (`ownerExecute`, every setting); the agent's key can
///         only make calls the policy allows, through `execute` and `executeBatch`:
///
///         - **Call policy.** Each call's (target, selector) pair must be allowed explicitly; there
///           is no wildcard, and the wallet itself is never a target. A plain native transfer has
///           the selector `0x00000000`. So a contract that holds one of the wallet's allowances
///           (a DEX router, a multicall) cannot be reached unless the owner allowed it.
///         - **Budgets.** Per token (the zero address is the native coin): a budget per period and
///           a cap per transaction. Spending counts: native value sent with any call; ERC-20
///           `transfer`, `transferFrom` out of the wallet, `approve` and `increaseAllowance` (the
///           approved amount counts in full when approved, whoever later pulls it, so an `approve`
///           to an accomplice is spent budget), and their ERC-1363 `...AndCall` forms. A channel
///           deposit (`PaymentChannels.open`/`topUp`), a donation or any other pull counts through
///           the approval it needs. These selectors are metered on whatever contract they are sent
///           to: a token without a budget has a budget of zero. On a token that has a budget, any
///           other selector (except `decreaseAllowance`) is refused, so nothing moves it unmetered.
///         - **Periods** are aligned to the Unix epoch: a period of `p` seconds starts at
///           `block.timestamp - block.timestamp % p` (a day resets at 00:00 UTC). The budget resets
///           exactly at that boundary and not before. Changing a budget carries what was spent in
///           the current period over to the new settings.
///         - **Refunds.** Calls the owner marks as refund calls (by default PaymentChannels'
///           `withdraw`, which returns the unspent part of a channel deposit) give back budget: what
///           such a call brings into the wallet, measured as the rise of its own balance of each
///           budgeted token (and of the native coin), is taken off the current period's spent, never
///           below zero. So an agent whose channel refunds can spend that money again in the period;
///           a refund of a deposit counted in an earlier, already reset period only lowers this
///           period's spent to zero. What leaves the wallet, net of what came back through refund
///           calls, stays within the budget in every period.
///         - **Per transaction** means per Ethereum transaction: the spend is summed in transient
///           storage, so several `execute` calls in one transaction share one cap.
///         - **Revocation** removes the agent key at once (`revoke`); a key can also expire. Pause
///           stops the agent without removing its key. The owner can always act.
///
///         ERC-1271: `isValidSignature` accepts the current agent key's ECDSA signature, only while
///         that key is unrevoked and unexpired, the wallet is not paused, the chain is the one the
///         wallet was created on, and only when asked by a contract the owner lists as a signature
///         verifier (by default `PaymentChannels`, for vouchers, and the agent registry). The last
///         rule matters: a signature the wallet vouches for anywhere (an ERC-2612 permit on a token
///         that accepts ERC-1271, a Permit2 transfer, an off-chain order) could move its tokens
///         without passing the spending policy. A voucher cannot: it pays only out of a channel
///         deposit, which was counted when it was approved.
///
///         Revoking or pausing also stops the provider of an open channel from redeeming vouchers
///         the agent signed before: a provider serving an agent wallet should redeem promptly.
/// @dev Deployed once as an implementation and cloned (EIP-1167) by `AgentWalletFactory`, which
///      initializes each clone in the same transaction. Assets the wallet holds other than budgeted
///      tokens and the native coin are protected by the call policy alone.
contract AgentWallet is IERC1271, ReentrancyGuardTransient {
    using EnumerableSet for EnumerableSet.AddressSet;
    using EnumerableSet for EnumerableSet.Bytes32Set;
    using TransientSlot for bytes32;
    using TransientSlot for TransientSlot.Uint256Slot;

    // ---------------------------------------------------------------- errors

    /// @notice The wallet is already initialized (or is the implementation, which never is).
    error AlreadyInitialized();

    /// @notice The owner is the zero address.
    error ZeroOwner();

    /// @notice The agent key is the zero address (use `revoke` to remove a key).
    error ZeroAgent();

    /// @notice Only the owner may do this.
    /// @param caller The account that tried.
    error NotOwner(address caller);

    /// @notice Only the current agent key may do this.
    /// @param caller The account that tried.
    error NotAgent(address caller);

    /// @notice The key was this wallet's agent key and has been revoked or replaced.
    /// @param key The revoked key.
    error AgentKeyRevoked(address key);

    /// @notice The agent key has expired.
    /// @param expiresAt When it expired.
    /// @param now The current block timestamp.
    error AgentKeyExpired(uint64 expiresAt, uint256 now);

    /// @notice An expiry in the past was given for a new agent key.
    /// @param expiresAt The expiry given (0 means never).
    /// @param now The current block timestamp.
    error InvalidExpiry(uint64 expiresAt, uint256 now);

    /// @notice The owner has paused the wallet: the agent can neither spend nor sign.
    error WalletPaused();

    /// @notice The wallet is used on another chain than the one it was created on (a fork or a
    ///         replay).
    /// @param expected The chain the wallet was created on.
    /// @param actual The current chain.
    error WrongChain(uint256 expected, uint256 actual);

    /// @notice The call policy does not allow this (target, selector) pair.
    /// @param target The contract called.
    /// @param selector The function selector (`0x00000000` for a call without data).
    error CallNotAllowed(address target, bytes4 selector);

    /// @notice This target cannot be allowed: the zero address or the wallet itself.
    /// @param target The target.
    error TargetNotAllowed(address target);

    /// @notice The call data is too short for its selector (or is one to three bytes long).
    /// @param target The contract called.
    /// @param selector The selector read (zero when there are fewer than four bytes).
    /// @param length The call data's length.
    error MalformedCall(address target, bytes4 selector, uint256 length);

    /// @notice The call would move a budgeted token in a way the wallet cannot meter.
    /// @param token The token.
    /// @param selector The selector.
    error UnmeteredTokenCall(address token, bytes4 selector);

    /// @notice The spend would take this transaction over the token's per-transaction cap.
    /// @param token The token (zero for the native coin).
    /// @param amount The total this transaction would spend.
    /// @param cap The cap.
    error OverPerTransactionCap(address token, uint256 amount, uint256 cap);

    /// @notice The token has no budget: the agent cannot spend any of it.
    /// @param token The token (zero for the native coin).
    /// @param amount The amount the call would spend.
    error NoBudget(address token, uint256 amount);

    /// @notice The spend is more than what is left of the token's budget in this period.
    /// @param token The token (zero for the native coin).
    /// @param amount The amount of this spend.
    /// @param left What is left of the budget in this period.
    error OverBudget(address token, uint256 amount, uint256 left);

    /// @notice The period is outside the allowed range.
    /// @param period The period given, in seconds.
    /// @param minimum The shortest period allowed.
    /// @param maximum The longest period allowed.
    error InvalidPeriod(uint64 period, uint64 minimum, uint64 maximum);

    /// @notice The per-transaction cap is zero or above the period budget.
    /// @param cap The cap given.
    /// @param budget The period budget.
    error InvalidPerTransactionCap(uint256 cap, uint256 budget);

    /// @notice A batch with no calls.
    error EmptyBatch();

    /// @notice The signature verifier is the zero address.
    error ZeroVerifier();

    // ---------------------------------------------------------------- events

    /// @notice The wallet was initialized.
    /// @param owner The owner.
    /// @param agent The agent key.
    /// @param chainId The chain the wallet is bound to.
    event WalletInitialized(address indexed owner, address indexed agent, uint256 chainId);

    /// @notice An agent key was set (the previous one, if any, is revoked).
    /// @param agent The new agent key.
    /// @param expiresAt When it expires (0: never).
    event AgentSet(address indexed agent, uint64 expiresAt);

    /// @notice The agent key was revoked.
    /// @param agent The revoked key.
    event AgentRevoked(address indexed agent);

    /// @notice The owner paused the wallet.
    /// @param owner The owner.
    event Paused(address indexed owner);

    /// @notice The owner unpaused the wallet.
    /// @param owner The owner.
    event Unpaused(address indexed owner);

    /// @notice A token's budget was set (a budget of zero removes it).
    /// @param token The token (zero for the native coin).
    /// @param budget The budget per period, in base units.
    /// @param maxPerTransaction The cap per transaction, in base units.
    /// @param period The period, in seconds.
    event BudgetSet(address indexed token, uint256 budget, uint256 maxPerTransaction, uint64 period);

    /// @notice A (target, selector) pair was allowed or disallowed.
    /// @param target The contract.
    /// @param selector The selector.
    /// @param allowed Whether the agent may call it now.
    event CallPermissionSet(address indexed target, bytes4 indexed selector, bool allowed);

    /// @notice A contract was allowed, or no longer allowed, to verify the agent's signatures.
    /// @param verifier The contract.
    /// @param allowed Whether `isValidSignature` answers it now.
    event SignatureVerifierSet(address indexed verifier, bool allowed);

    /// @notice The agent spent from a budget.
    /// @param token The token (zero for the native coin).
    /// @param target The contract called.
    /// @param to Who receives the tokens or the allowance (for native value, the target).
    /// @param selector The selector of the call.
    /// @param amount The amount counted.
    /// @param periodStart The start of the period it was counted in.
    /// @param spentInPeriod What the period has spent, including this.
    event Spent(
        address indexed token,
        address indexed target,
        address indexed to,
        bytes4 selector,
        uint256 amount,
        uint256 periodStart,
        uint256 spentInPeriod
    );

    /// @notice A refund call brought tokens back, and what it could of them was taken off the
    ///         period's spent.
    /// @param token The token (zero for the native coin).
    /// @param target The contract called.
    /// @param selector The selector of the call.
    /// @param amount What came back (the rise of the wallet's balance over the call).
    /// @param credited What was taken off the period's spent (at most what it had spent).
    /// @param periodStart The start of the period it was credited in.
    /// @param spentInPeriod What the period has spent, after the credit.
    event Refunded(
        address indexed token,
        address indexed target,
        bytes4 selector,
        uint256 amount,
        uint256 credited,
        uint256 periodStart,
        uint256 spentInPeriod
    );

    /// @notice A (target, selector) pair was marked, or no longer marked, as a refund call.
    /// @param target The contract.
    /// @param selector The selector.
    /// @param refunds Whether what the call brings back is credited to the budgets now.
    event RefundCallSet(address indexed target, bytes4 indexed selector, bool refunds);

    /// @notice The agent made a call.
    /// @param target The contract called.
    /// @param selector The selector.
    /// @param value The native value sent.
    event Executed(address indexed target, bytes4 indexed selector, uint256 value);

    /// @notice The owner made a call through the wallet (not metered).
    /// @param target The contract called.
    /// @param selector The selector.
    /// @param value The native value sent.
    event OwnerExecuted(address indexed target, bytes4 indexed selector, uint256 value);

    // ---------------------------------------------------------------- types and storage

    /// @notice One call the agent makes.
    /// @param target The contract (or account) called.
    /// @param value Native value sent.
    /// @param data Call data.
    struct Call {
        address target;
        uint256 value;
        bytes data;
    }

    /// @notice A token's budget as set by the owner.
    /// @param token The token (zero for the native coin).
    /// @param budget The budget per period, in base units (zero removes the budget).
    /// @param maxPerTransaction The cap per transaction, in `[1, budget]`.
    /// @param period The period, in seconds, in `[MIN_PERIOD, MAX_PERIOD]`.
    struct BudgetConfig {
        address token;
        uint128 budget;
        uint128 maxPerTransaction;
        uint64 period;
    }

    /// @notice A (target, selector) pair the agent may call.
    /// @param target The contract.
    /// @param selector The selector (`0x00000000` for a plain native transfer).
    struct CallPermission {
        address target;
        bytes4 selector;
    }

    /// @notice Everything a new wallet starts with.
    /// @param owner The owner; must not be zero.
    /// @param agent The agent key; must not be zero.
    /// @param agentExpiresAt When the agent key expires (0: never).
    /// @param budgets The budgets.
    /// @param calls The calls the agent may make.
    /// @param signatureVerifiers The contracts `isValidSignature` answers.
    /// @param refundCalls The calls whose incoming tokens are credited back to the budgets (each must
    ///        also be among `calls` for the agent to make it).
    struct Config {
        address owner;
        address agent;
        uint64 agentExpiresAt;
        BudgetConfig[] budgets;
        CallPermission[] calls;
        address[] signatureVerifiers;
        CallPermission[] refundCalls;
    }

    /// @notice A token's budget as it stands now, from `budgetOf`.
    /// @param budget The budget per period.
    /// @param maxPerTransaction The cap per transaction.
    /// @param period The period, in seconds (0 when the token has no budget).
    /// @param periodStart The start of the current period.
    /// @param resetsAt When the next period starts.
    /// @param spent What the current period has spent.
    /// @param left What is left in the current period.
    struct BudgetStatus {
        uint256 budget;
        uint256 maxPerTransaction;
        uint64 period;
        uint64 periodStart;
        uint64 resetsAt;
        uint256 spent;
        uint256 left;
    }

    /// @dev A token's budget and what its last period spent (two slots).
    struct Budget {
        uint128 budget;
        uint128 maxPerTransaction;
        uint64 period;
        uint64 periodStart;
        uint128 spent;
    }

    /// @notice The shortest period a budget can have.
    uint64 public constant MIN_PERIOD = 60;

    /// @notice The longest period a budget can have.
    uint64 public constant MAX_PERIOD = 366 days;

    /// @notice The budget key of the chain's native coin.
    address public constant NATIVE = address(0);

    /// @dev ERC-1271's "valid" answer, and the answer for everything else.
    bytes4 private constant MAGIC_VALUE = IERC1271.isValidSignature.selector;
    bytes4 private constant INVALID_SIGNATURE = 0xffffffff;

    // Selectors that move or expose tokens, metered on whatever contract they are sent to.
    bytes4 private constant TRANSFER = 0xa9059cbb; // transfer(address,uint256)
    bytes4 private constant APPROVE = 0x095ea7b3; // approve(address,uint256)
    bytes4 private constant INCREASE_ALLOWANCE = 0x39509351; // increaseAllowance(address,uint256)
    bytes4 private constant TRANSFER_AND_CALL = 0x1296ee62; // transferAndCall(address,uint256)
    bytes4 private constant TRANSFER_AND_CALL_DATA = 0x4000aea0; // transferAndCall(address,uint256,bytes)
    bytes4 private constant APPROVE_AND_CALL = 0x3177029f; // approveAndCall(address,uint256)
    bytes4 private constant APPROVE_AND_CALL_DATA = 0xcae9ca51; // approveAndCall(address,uint256,bytes)
    bytes4 private constant TRANSFER_FROM = 0x23b872dd; // transferFrom(address,address,uint256)
    bytes4 private constant TRANSFER_FROM_AND_CALL = 0xd8fbe994; // transferFromAndCall(address,address,uint256)
    bytes4 private constant TRANSFER_FROM_AND_CALL_DATA = 0xc1d34b89; // transferFromAndCall(address,address,uint256,bytes)
    bytes4 private constant DECREASE_ALLOWANCE = 0xa457c2d7; // decreaseAllowance(address,uint256)
    /// @dev Read around a refund call, to measure what it brought back.
    bytes4 private constant BALANCE_OF = 0x70a08231; // balanceOf(address)

    /// @dev Base of the transient slots holding what the current transaction spent, per token:
    ///      `keccak256(abi.encode(token, TX_SPENT_SLOT))`.
    bytes32 private constant TX_SPENT_SLOT = keccak256("gotong.AgentWallet.txSpent");

    /// @notice The owner: sets the policy, can revoke and pause, and can always act.
    address public owner;

    /// @notice The current agent key (zero when revoked).
    address public agent;

    /// @notice When the agent key expires (0: never).
    uint64 public agentExpiresAt;

    /// @notice Whether the owner has paused the agent.
    bool public paused;

    /// @dev Set once, by `initialize` (or by the implementation's constructor, to lock it).
    bool private _initialized;

    /// @notice The chain the wallet was created on; spending and signatures are refused elsewhere.
    uint256 public chainId;

    /// @notice Keys that were this wallet's agent and were revoked or replaced.
    mapping(address key => bool) public isRevokedKey;

    /// @dev Budgets by token.
    mapping(address token => Budget) private _budgets;

    /// @dev Tokens that have a budget.
    EnumerableSet.AddressSet private _budgetTokens;

    /// @dev Allowed (target, selector) pairs, packed as `bytes32(abi.encodePacked(target, selector))`.
    EnumerableSet.Bytes32Set private _allowedCalls;

    /// @dev Contracts `isValidSignature` answers.
    EnumerableSet.AddressSet private _verifiers;

    /// @dev Refund calls, keyed as `_allowedCalls`.
    EnumerableSet.Bytes32Set private _refundCalls;

    // ---------------------------------------------------------------- modifiers

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys the implementation, locked: only clones are initialized.
    constructor() {
        _initialized = true;
    }

    /// @notice Accepts native coin (owners fund the wallet by sending to it).
    receive() external payable {}

    // ---------------------------------------------------------------- external: setup

    /// @notice Initializes a clone. Called by the factory in the transaction that creates it.
    /// @param config The owner, agent key, budgets, allowed calls and signature verifiers.
    function initialize(Config calldata config) external {
        if (_initialized) revert AlreadyInitialized();
        if (config.owner == address(0)) revert ZeroOwner();
        _initialized = true;
        owner = config.owner;
        chainId = block.chainid;
        _setAgent(config.agent, config.agentExpiresAt);
        for (uint256 i; i < config.budgets.length; ++i) {
            BudgetConfig calldata b = config.budgets[i];
            _setBudget(b.token, b.budget, b.maxPerTransaction, b.period);
        }
        for (uint256 i; i < config.calls.length; ++i) {
            _setCallAllowed(config.calls[i].target, config.calls[i].selector, true);
        }
        for (uint256 i; i < config.signatureVerifiers.length; ++i) {
            _setSignatureVerifier(config.signatureVerifiers[i], true);
        }
        for (uint256 i; i < config.refundCalls.length; ++i) {
            _setRefundCall(config.refundCalls[i].target, config.refundCalls[i].selector, true);
        }
        emit WalletInitialized(config.owner, config.agent, block.chainid);
    }

    // ---------------------------------------------------------------- external: agent

    /// @notice Makes one call as the wallet, within the policy.
    /// @param target The contract (or account) to call; (target, selector) must be allowed.
    /// @param value Native value to send, counted against the native budget.
    /// @param data The call data.
    /// @return result What the call returned.
    function execute(address target, uint256 value, bytes calldata data)
        external
        nonReentrant
        returns (bytes memory result)
    {
        _checkAgent();
        result = _executeMetered(target, value, data);
    }

    /// @notice Makes several calls as the wallet, in order, within the policy; all or none.
    /// @param calls The calls.
    /// @return results What each call returned.
    function executeBatch(Call[] calldata calls) external nonReentrant returns (bytes[] memory results) {
        _checkAgent();
        if (calls.length == 0) revert EmptyBatch();
        results = new bytes[](calls.length);
        for (uint256 i; i < calls.length; ++i) {
            results[i] = _executeMetered(calls[i].target, calls[i].value, calls[i].data);
        }
    }

    // ---------------------------------------------------------------- external: owner

    /// @notice Makes a call as the wallet, outside the policy (works while paused).
    /// @param target The contract (or account) to call.
    /// @param value Native value to send (from the wallet's balance and what is sent along).
    /// @param data The call data.
    /// @return result What the call returned.
    function ownerExecute(address target, uint256 value, bytes calldata data)
        external
        payable
        onlyOwner
        nonReentrant
        returns (bytes memory result)
    {
        result = _call(target, value, data);
        emit OwnerExecuted(target, _selectorOf(data), value);
    }

    /// @notice Sets a new agent key; the previous one, if any, is revoked.
    /// @param newAgent The new key; must not be zero.
    /// @param expiresAt When it expires (0: never); must be in the future.
    function setAgent(address newAgent, uint64 expiresAt) external onlyOwner {
        address previous = agent;
        if (previous != address(0) && previous != newAgent) {
            isRevokedKey[previous] = true;
            emit AgentRevoked(previous);
        }
        _setAgent(newAgent, expiresAt);
    }

    /// @notice Revokes the agent key at once: it can neither spend nor sign from now on.
    function revoke() external onlyOwner {
        address previous = agent;
        agent = address(0);
        agentExpiresAt = 0;
        if (previous != address(0)) {
            isRevokedKey[previous] = true;
            emit AgentRevoked(previous);
        }
    }

    /// @notice Pauses the agent: it can neither spend nor sign until `unpause`.
    function pause() external onlyOwner {
        paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Lets the agent act again after `pause`.
    function unpause() external onlyOwner {
        paused = false;
        emit Unpaused(msg.sender);
    }

    /// @notice Sets a token's budget; a budget of zero removes it. What the current period has
    ///         spent carries over.
    /// @param token The token (zero for the native coin).
    /// @param budget The budget per period, in base units.
    /// @param maxPerTransaction The cap per transaction, in `[1, budget]`.
    /// @param period The period, in seconds, in `[MIN_PERIOD, MAX_PERIOD]`.
    function setBudget(address token, uint128 budget, uint128 maxPerTransaction, uint64 period) external onlyOwner {
        _setBudget(token, budget, maxPerTransaction, period);
    }

    /// @notice Allows or disallows the agent to call `selector` on `target`.
    /// @param target The contract; not zero, not the wallet.
    /// @param selector The selector (`0x00000000` for a plain native transfer).
    /// @param allowed Whether the agent may call it.
    function setCallAllowed(address target, bytes4 selector, bool allowed) external onlyOwner {
        _setCallAllowed(target, selector, allowed);
    }

    /// @notice Marks or unmarks a call as a refund call: what it brings into the wallet is credited
    ///         back to the current period's budgets (see the contract's notes on refunds).
    /// @param target The contract; not zero, not the wallet.
    /// @param selector The selector.
    /// @param refunds Whether the call's incoming tokens are credited.
    function setRefundCall(address target, bytes4 selector, bool refunds) external onlyOwner {
        _setRefundCall(target, selector, refunds);
    }

    /// @notice Allows or disallows a contract to verify the agent's signatures through
    ///         `isValidSignature`.
    /// @param verifier The contract (for example PaymentChannels).
    /// @param allowed Whether `isValidSignature` answers it.
    function setSignatureVerifier(address verifier, bool allowed) external onlyOwner {
        _setSignatureVerifier(verifier, allowed);
    }

    // ---------------------------------------------------------------- external: views

    /// @inheritdoc IERC1271
    /// @dev Valid only for the current agent key's ECDSA signature, asked by an allowed verifier, on
    ///      the wallet's chain, while the key is unrevoked and unexpired and the wallet unpaused.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (!_verifiers.contains(msg.sender)) return INVALID_SIGNATURE;
        if (block.chainid != chainId || paused) return INVALID_SIGNATURE;
        address key = agent;
        if (key == address(0)) return INVALID_SIGNATURE;
        uint64 expiresAt = agentExpiresAt;
        if (expiresAt != 0 && block.timestamp >= expiresAt) return INVALID_SIGNATURE;
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(hash, signature);
        return err == ECDSA.RecoverError.NoError && recovered == key ? MAGIC_VALUE : INVALID_SIGNATURE;
    }

    /// @notice A token's budget as it stands at this block.
    /// @param token The token (zero for the native coin).
    /// @return status The budget, the current period and what is spent and left in it.
    function budgetOf(address token) external view returns (BudgetStatus memory status) {
        Budget storage b = _budgets[token];
        (uint256 start, uint256 spent, uint256 left) = _current(b);
        status = BudgetStatus({
            budget: b.budget,
            maxPerTransaction: b.maxPerTransaction,
            period: b.period,
            // casting to 'uint64' is safe because `start` is at most `block.timestamp`
            // forge-lint: disable-next-line(unsafe-typecast)
            periodStart: uint64(start),
            // forge-lint: disable-next-line(unsafe-typecast)
            resetsAt: b.period == 0 ? 0 : uint64(start + b.period),
            spent: spent,
            left: left
        });
    }

    /// @notice What the agent can still spend of `token` in this period (0 without a budget).
    /// @param token The token (zero for the native coin).
    /// @return left The amount, in base units.
    function budgetLeft(address token) external view returns (uint256 left) {
        (,, left) = _current(_budgets[token]);
    }

    /// @notice The tokens that have a budget.
    /// @return The tokens (the zero address is the native coin).
    function budgetTokens() external view returns (address[] memory) {
        return _budgetTokens.values();
    }

    /// @notice Every (target, selector) pair the agent may call.
    /// @return calls The pairs.
    function allowedCalls() external view returns (CallPermission[] memory calls) {
        uint256 n = _allowedCalls.length();
        calls = new CallPermission[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 key = _allowedCalls.at(i);
            calls[i] = CallPermission({target: address(bytes20(key)), selector: bytes4(key << 160)});
        }
    }

    /// @notice Whether the agent may call `selector` on `target`.
    /// @param target The contract.
    /// @param selector The selector.
    /// @return Whether the pair is allowed.
    function isCallAllowed(address target, bytes4 selector) external view returns (bool) {
        return _allowedCalls.contains(_callKey(target, selector));
    }

    /// @notice Whether what `selector` on `target` brings back is credited to the budgets.
    /// @param target The contract.
    /// @param selector The selector.
    /// @return Whether it is a refund call.
    function isRefundCall(address target, bytes4 selector) external view returns (bool) {
        return _refundCalls.contains(_callKey(target, selector));
    }

    /// @notice Every refund call.
    /// @return calls The (target, selector) pairs.
    function refundCalls() external view returns (CallPermission[] memory calls) {
        uint256 n = _refundCalls.length();
        calls = new CallPermission[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 key = _refundCalls.at(i);
            calls[i] = CallPermission({target: address(bytes20(key)), selector: bytes4(key << 160)});
        }
    }

    /// @notice The contracts `isValidSignature` answers.
    /// @return The verifiers.
    function signatureVerifiers() external view returns (address[] memory) {
        return _verifiers.values();
    }

    /// @notice What the current transaction has spent of `token` so far (for tests and tools).
    /// @param token The token.
    /// @return The amount.
    function spentInTransaction(address token) external view returns (uint256) {
        return _txSpentSlot(token).tload();
    }

    // ---------------------------------------------------------------- internal

    /// @dev Refuses the call unless it comes from the live agent key, on the wallet's chain,
    ///      while the wallet is not paused.
    function _checkAgent() internal view {
        if (block.chainid != chainId) revert WrongChain(chainId, block.chainid);
        if (msg.sender != agent) {
            if (isRevokedKey[msg.sender]) revert AgentKeyRevoked(msg.sender);
            revert NotAgent(msg.sender);
        }
        uint64 expiresAt = agentExpiresAt;
        if (expiresAt != 0 && block.timestamp >= expiresAt) revert AgentKeyExpired(expiresAt, block.timestamp);
        if (paused) revert WalletPaused();
    }

    /// @dev Checks one call against the call policy, counts what it spends, then makes it.
    function _executeMetered(address target, uint256 value, bytes calldata data) internal returns (bytes memory) {
        if (data.length != 0 && data.length < 4) revert MalformedCall(target, bytes4(0), data.length);
        bytes4 selector = _selectorOf(data);
        bytes32 key = _callKey(target, selector);
        if (!_allowedCalls.contains(key)) revert CallNotAllowed(target, selector);
        if (value != 0) _charge(NATIVE, target, target, selector, value);
        _meterTokenCall(target, selector, data);
        bytes memory result;
        if (_refundCalls.contains(key)) {
            result = _refundingCall(target, value, data, selector);
        } else {
            result = _call(target, value, data);
        }
        emit Executed(target, selector, value);
        return result;
    }

    /// @dev Makes a refund call and credits what it brought back: the rise of the wallet's balance
    ///      of each budgeted token over the call, the native coin's counted from the balance less
    ///      the value sent. Balances, not the target's word, say what came back.
    function _refundingCall(address target, uint256 value, bytes calldata data, bytes4 selector)
        internal
        returns (bytes memory result)
    {
        address[] memory tokens = _budgetTokens.values();
        uint256[] memory before = new uint256[](tokens.length);
        for (uint256 i; i < tokens.length; ++i) {
            // A token that does not answer before the call is credited nothing for it.
            before[i] = tokens[i] == NATIVE ? address(this).balance - value : _balanceOf(tokens[i], type(uint256).max);
        }
        result = _call(target, value, data);
        for (uint256 i; i < tokens.length; ++i) {
            uint256 now_ = tokens[i] == NATIVE ? address(this).balance : _balanceOf(tokens[i], 0);
            if (now_ > before[i]) _credit(tokens[i], target, selector, now_ - before[i]);
        }
    }

    /// @dev Takes what came back of `token` off the current period's spent, never below zero.
    function _credit(address token, address target, bytes4 selector, uint256 amount) internal {
        Budget storage b = _budgets[token];
        (uint256 start, uint256 spent,) = _current(b);
        uint256 credited = Math.min(amount, spent);
        uint256 spentNow = spent - credited;
        // casting is safe: `start` is at most `block.timestamp`, and `spentNow <= spent < 2^128`
        // forge-lint: disable-next-line(unsafe-typecast)
        b.periodStart = uint64(start);
        // forge-lint: disable-next-line(unsafe-typecast)
        b.spent = uint128(spentNow);
        emit Refunded(token, target, selector, amount, credited, start, spentNow);
    }

    /// @dev The wallet's balance of an ERC-20, or `otherwise` when the token does not answer: a
    ///      broken budgeted token can neither block a refund call nor inflate what it credits.
    function _balanceOf(address token, uint256 otherwise) internal view returns (uint256) {
        (bool ok, bytes memory answer) = token.staticcall(abi.encodeWithSelector(BALANCE_OF, address(this)));
        return ok && answer.length >= 32 ? abi.decode(answer, (uint256)) : otherwise;
    }

    /// @dev Counts what a call moves or exposes of the token `target`, and refuses calls on a
    ///      budgeted token that cannot be metered.
    function _meterTokenCall(address target, bytes4 selector, bytes calldata data) internal {
        if (
            selector == TRANSFER || selector == APPROVE || selector == INCREASE_ALLOWANCE
                || selector == TRANSFER_AND_CALL || selector == TRANSFER_AND_CALL_DATA || selector == APPROVE_AND_CALL
                || selector == APPROVE_AND_CALL_DATA
        ) {
            if (data.length < 68) revert MalformedCall(target, selector, data.length);
            (address to, uint256 amount) = abi.decode(data[4:68], (address, uint256));
            _charge(target, target, to, selector, amount);
        } else if (
            selector == TRANSFER_FROM || selector == TRANSFER_FROM_AND_CALL || selector == TRANSFER_FROM_AND_CALL_DATA
        ) {
            if (data.length < 100) revert MalformedCall(target, selector, data.length);
            (address from, address to, uint256 amount) = abi.decode(data[4:100], (address, address, uint256));
            // Moving someone else's tokens under an allowance they gave the wallet spends nothing of its own.
            if (from == address(this)) _charge(target, target, to, selector, amount);
        } else if (selector != DECREASE_ALLOWANCE && _budgetTokens.contains(target)) {
            revert UnmeteredTokenCall(target, selector);
        }
    }

    /// @dev Counts `amount` of `token` against its per-transaction cap and its period budget.
    function _charge(address token, address target, address to, bytes4 selector, uint256 amount) internal {
        if (amount == 0) return;
        Budget storage b = _budgets[token];
        if (b.period == 0) revert NoBudget(token, amount);
        TransientSlot.Uint256Slot txSlot = _txSpentSlot(token);
        uint256 before = txSlot.tload();
        uint256 cap = b.maxPerTransaction;
        if (amount > cap || before > cap - amount) {
            revert OverPerTransactionCap(token, Math.saturatingAdd(before, amount), cap);
        }
        (uint256 start, uint256 spent, uint256 left) = _current(b);
        if (amount > left) revert OverBudget(token, amount, left);
        uint256 spentNow = spent + amount;
        // casting is safe: `start` is at most `block.timestamp`, and `spentNow <= budget < 2^128`
        // forge-lint: disable-next-line(unsafe-typecast)
        b.periodStart = uint64(start);
        // forge-lint: disable-next-line(unsafe-typecast)
        b.spent = uint128(spentNow);
        txSlot.tstore(before + amount);
        emit Spent(token, target, to, selector, amount, start, spentNow);
    }

    /// @dev The current period's start, what it has spent, and what is left of the budget.
    function _current(Budget storage b) internal view returns (uint256 start, uint256 spent, uint256 left) {
        uint256 period = b.period;
        if (period == 0) return (0, 0, 0);
        start = block.timestamp - (block.timestamp % period);
        spent = b.periodStart == start ? b.spent : 0;
        uint256 budget = b.budget;
        left = budget > spent ? budget - spent : 0;
    }

    /// @dev Sets an agent key, refusing zero and a past expiry.
    function _setAgent(address newAgent, uint64 expiresAt) internal {
        if (newAgent == address(0)) revert ZeroAgent();
        if (expiresAt != 0 && expiresAt <= block.timestamp) revert InvalidExpiry(expiresAt, block.timestamp);
        agent = newAgent;
        agentExpiresAt = expiresAt;
        isRevokedKey[newAgent] = false;
        emit AgentSet(newAgent, expiresAt);
    }

    /// @dev Sets or removes a budget, carrying over what the current period has spent.
    function _setBudget(address token, uint128 budget, uint128 maxPerTransaction, uint64 period) internal {
        Budget storage b = _budgets[token];
        if (budget == 0) {
            delete _budgets[token];
            _budgetTokens.remove(token);
            emit BudgetSet(token, 0, 0, 0);
            return;
        }
        if (period < MIN_PERIOD || period > MAX_PERIOD) revert InvalidPeriod(period, MIN_PERIOD, MAX_PERIOD);
        if (maxPerTransaction == 0 || maxPerTransaction > budget) {
            revert InvalidPerTransactionCap(maxPerTransaction, budget);
        }
        (, uint256 spent,) = _current(b);
        b.budget = budget;
        b.maxPerTransaction = maxPerTransaction;
        b.period = period;
        // casting is safe: the start is at most `block.timestamp`; `spent` was stored as a uint128
        // forge-lint: disable-next-line(unsafe-typecast)
        b.periodStart = uint64(block.timestamp - (block.timestamp % period));
        // forge-lint: disable-next-line(unsafe-typecast)
        b.spent = uint128(spent);
        _budgetTokens.add(token);
        emit BudgetSet(token, budget, maxPerTransaction, period);
    }

    /// @dev Allows or disallows a (target, selector) pair.
    function _setCallAllowed(address target, bytes4 selector, bool allowed) internal {
        if (target == address(0) || target == address(this)) revert TargetNotAllowed(target);
        bytes32 key = _callKey(target, selector);
        if (allowed) _allowedCalls.add(key);
        else _allowedCalls.remove(key);
        emit CallPermissionSet(target, selector, allowed);
    }

    /// @dev Marks or unmarks a refund call.
    function _setRefundCall(address target, bytes4 selector, bool refunds) internal {
        if (target == address(0) || target == address(this)) revert TargetNotAllowed(target);
        bytes32 key = _callKey(target, selector);
        if (refunds) _refundCalls.add(key);
        else _refundCalls.remove(key);
        emit RefundCallSet(target, selector, refunds);
    }

    /// @dev Allows or disallows a signature verifier.
    function _setSignatureVerifier(address verifier, bool allowed) internal {
        if (verifier == address(0)) revert ZeroVerifier();
        if (allowed) _verifiers.add(verifier);
        else _verifiers.remove(verifier);
        emit SignatureVerifierSet(verifier, allowed);
    }

    /// @dev Calls `target`, bubbling up its revert data unchanged.
    function _call(address target, uint256 value, bytes calldata data) internal returns (bytes memory result) {
        bool ok;
        (ok, result) = target.call{value: value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
    }

    /// @dev The selector of `data` (zero when it is shorter than four bytes).
    function _selectorOf(bytes calldata data) internal pure returns (bytes4) {
        return data.length < 4 ? bytes4(0) : bytes4(data[:4]);
    }

    /// @dev The set key of a (target, selector) pair.
    function _callKey(address target, bytes4 selector) internal pure returns (bytes32) {
        return bytes32(abi.encodePacked(target, selector));
    }

    /// @dev The transient slot holding what this transaction spent of `token`.
    function _txSpentSlot(address token) internal pure returns (TransientSlot.Uint256Slot) {
        return keccak256(abi.encode(token, TX_SPENT_SLOT)).asUint256();
    }
}
