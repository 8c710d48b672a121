// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {AgentRegistry} from "./AgentRegistry.sol";

/// @notice What AgentReputation reads of X402Splitter: the x402 payments it settled, by payer and provider.
interface IX402PaymentRecord {
    /// @notice What `payer` has paid `provider` through `settle`, in total.
    function paidBy(address payer, address provider) external view returns (uint256);
}

/// @title AgentReputation
/// @notice Reputation for agents, with ERC-8004's reputation interface (`giveFeedback`,
///         `revokeFeedback`, `appendResponse`, `readFeedback`, `readAllFeedback`, `getSummary`,
///         `getClients`, `getLastIndex`, `getResponseCount`) and one rule that closes the Sybil hole
///         of feedback registries: feedback counts only when it cites a payment the reviewer actually
///         made to that agent here, and it weighs as much as that payment. An agent is paid through `payAgent`, which sends the
///         Gotong token to the agent's verified wallet (from the identity registry) and records the
///         payment; each payment can be cited once. ERC-8004's `giveFeedback` cites every payment the
///         reviewer has made to the agent and not cited yet (and is refused when there is none);
///         `giveFeedbackForPayment` cites one.
///
///         x402 payments count too. X402Splitter records what each payer paid each provider through
///         its `settle` (`paidBy`); when the agent's wallet is a provider, `giveFeedback` also cites
///         what the reviewer paid that wallet that way and has not cited yet, and weighs it with the
///         `payAgent` payments (`X402PaymentsCited` says how much). Cited x402 amounts are kept by
///         reviewer and *wallet*, not by agent, because an x402 payment pays an address: a unit paid
///         to a wallet is cited once whichever agent names it, so two agents that share a wallet
///         cannot both weigh it, and an agent that moves to another wallet and back finds what it had
///         cited still cited. What that leaves: a reviewer's x402 payments to an address made before
///         it became this agent's wallet count for it (once; the wallet signed its binding, so they
///         paid the same key), and where agents share a wallet, the first one reviewed takes the
///         whole open amount. Only `settle` records a payer; x402 money split with X402Splitter's
///         `split`, or paid by another scheme (batch-settlement claims), does not count.
///
///         Paying your own agent from another address gives money back to yourself, so `payAgent`
///         takes the protocol fee from every payment (to the protocol's steward, for funding rounds):
///         weight bought through round trips costs that fee per unit of weight, and funds open-source AI.
///         An x402 round trip pays X402Splitter's split instead: the protocol fee, and the model's
///         royalty unless the provider owns the model.
///
///         `getSummary` is the payment-weighted mean of the counted values, in the largest
///         `valueDecimals` among them (rounded toward zero); `getPaidSummary` also returns the total
///         weight.
/// @dev Values are bounded (`MAX_ABS_VALUE`, `MAX_VALUE_DECIMALS`) so a normalized value fits an
///      int128; weighted sums use `mulDiv`, so no weight can overflow them. A feedback cites at most
///      `MAX_PAYMENT` of x402 payments at once (the rest stays open for the next), as a payment is at
///      most `MAX_PAYMENT`, so weights stay sums of amounts below 2**128.
contract AgentReputation is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- errors

    /// @notice No agent has this id.
    /// @param agentId The agent.
    error AgentNotFound(uint256 agentId);

    /// @notice The agent has no verified wallet to pay.
    /// @param agentId The agent.
    error AgentHasNoWallet(uint256 agentId);

    /// @notice An amount of zero, or zero tokens arrived.
    error ZeroAmount();

    /// @notice The payment is above what a payment may weigh.
    /// @param amount The amount.
    /// @param maximum The largest amount accepted.
    error AmountTooLarge(uint256 amount, uint256 maximum);

    /// @notice The agent's owner, operator or wallet cannot pay it or review it.
    /// @param agentId The agent.
    /// @param account The account that tried.
    error SelfDealing(uint256 agentId, address account);

    /// @notice No payment has this id.
    /// @param paymentId The payment.
    error PaymentNotFound(uint256 paymentId);

    /// @notice Only the payer can cite a payment.
    /// @param paymentId The payment.
    /// @param caller The account that tried.
    error NotPayer(uint256 paymentId, address caller);

    /// @notice The payment was already cited by a feedback.
    /// @param paymentId The payment.
    error PaymentAlreadyCited(uint256 paymentId);

    /// @notice The reviewer has no uncited payment to this agent.
    /// @param agentId The agent.
    /// @param reviewer The reviewer.
    error NoPaymentToCite(uint256 agentId, address reviewer);

    /// @notice `valueDecimals` is above `MAX_VALUE_DECIMALS`.
    /// @param valueDecimals The decimals given.
    /// @param maximum The maximum.
    error ValueDecimalsTooLarge(uint8 valueDecimals, uint8 maximum);

    /// @notice The value's magnitude is above `MAX_ABS_VALUE`.
    /// @param value The value.
    error ValueTooLarge(int128 value);

    /// @notice The reviewer has no feedback at this index for this agent.
    /// @param agentId The agent.
    /// @param clientAddress The reviewer.
    /// @param feedbackIndex The index (from 1).
    error FeedbackNotFound(uint256 agentId, address clientAddress, uint64 feedbackIndex);

    /// @notice The feedback is already revoked.
    /// @param agentId The agent.
    /// @param feedbackIndex The index.
    error FeedbackAlreadyRevoked(uint256 agentId, uint64 feedbackIndex);

    /// @notice A response needs a URI.
    error EmptyResponseURI();

    /// @notice The fee is above the maximum.
    /// @param feeBps The fee, in basis points.
    /// @param maximum The maximum, in basis points.
    error FeeTooHigh(uint16 feeBps, uint16 maximum);

    /// @notice The fee recipient is the zero address.
    error ZeroFeeRecipient();

    // ---------------------------------------------------------------- events

    /// @notice An agent was paid.
    /// @param paymentId The payment.
    /// @param agentId The agent.
    /// @param payer Who paid.
    /// @param wallet The agent wallet that received `amount - fee`.
    /// @param amount The amount paid (the weight of feedback citing it).
    /// @param fee The protocol fee sent to the fee recipient.
    /// @param memo A note from the payer.
    event AgentPaid(
        uint256 indexed paymentId,
        uint256 indexed agentId,
        address indexed payer,
        address wallet,
        uint256 amount,
        uint256 fee,
        string memo
    );

    /// @notice Feedback was given (ERC-8004's event).
    /// @param agentId The agent.
    /// @param clientAddress The reviewer.
    /// @param feedbackIndex The feedback's index for this reviewer and agent (from 1).
    /// @param value The value.
    /// @param valueDecimals Its decimals.
    /// @param indexedTag1 The first tag, indexed.
    /// @param tag1 The first tag.
    /// @param tag2 The second tag.
    /// @param endpoint The endpoint reviewed.
    /// @param feedbackURI Where the feedback's details are.
    /// @param feedbackHash The hash of those details.
    event NewFeedback(
        uint256 indexed agentId,
        address indexed clientAddress,
        uint64 feedbackIndex,
        int128 value,
        uint8 valueDecimals,
        string indexed indexedTag1,
        string tag1,
        string tag2,
        string endpoint,
        string feedbackURI,
        bytes32 feedbackHash
    );

    /// @notice Feedback was weighted by the payments it cites.
    /// @param agentId The agent.
    /// @param clientAddress The reviewer.
    /// @param feedbackIndex The feedback's index.
    /// @param weight The total amount cited: the `payAgent` payments and the x402 amount.
    /// @param payments How many `payAgent` payments it cites (the x402 amount: `X402PaymentsCited`).
    event FeedbackWeighted(
        uint256 indexed agentId, address indexed clientAddress, uint64 feedbackIndex, uint256 weight, uint256 payments
    );

    /// @notice Feedback cited x402 payments: what the reviewer paid the agent's wallet through
    ///         X402Splitter's `settle` and had not cited yet.
    /// @param agentId The agent.
    /// @param clientAddress The reviewer (the x402 payer).
    /// @param feedbackIndex The feedback's index.
    /// @param wallet The agent's wallet, the provider the x402 payments paid.
    /// @param amount The x402 amount cited, part of the feedback's weight.
    /// @param citedTotal All the reviewer has cited of its x402 payments to `wallet`, `amount`
    ///        included; `x402Splitter.paidBy(clientAddress, wallet)` beyond it is still open.
    event X402PaymentsCited(
        uint256 indexed agentId,
        address indexed clientAddress,
        uint64 feedbackIndex,
        address indexed wallet,
        uint256 amount,
        uint256 citedTotal
    );

    /// @notice Feedback was revoked by its reviewer.
    /// @param agentId The agent.
    /// @param clientAddress The reviewer.
    /// @param feedbackIndex The index.
    event FeedbackRevoked(uint256 indexed agentId, address indexed clientAddress, uint64 indexed feedbackIndex);

    /// @notice Someone responded to a feedback.
    /// @param agentId The agent.
    /// @param clientAddress The reviewer.
    /// @param feedbackIndex The feedback's index.
    /// @param responder Who responded.
    /// @param responseURI Where the response is.
    /// @param responseHash Its hash.
    event ResponseAppended(
        uint256 indexed agentId,
        address indexed clientAddress,
        uint64 feedbackIndex,
        address indexed responder,
        string responseURI,
        bytes32 responseHash
    );

    // ---------------------------------------------------------------- storage

    /// @notice A payment to an agent.
    /// @param payer Who paid.
    /// @param cited Whether a feedback has cited it.
    /// @param agentId The agent paid.
    /// @param amount The amount paid.
    struct Payment {
        address payer;
        bool cited;
        uint256 agentId;
        uint256 amount;
    }

    /// @dev A feedback as given.
    struct FeedbackInput {
        int128 value;
        uint8 valueDecimals;
        string tag1;
        string tag2;
        string endpoint;
        string feedbackURI;
        bytes32 feedbackHash;
    }

    /// @dev A feedback as stored.
    struct Feedback {
        int128 value;
        uint8 valueDecimals;
        bool isRevoked;
        uint256 weight;
        string tag1;
        string tag2;
    }

    /// @dev `readAllFeedback`'s answer, gathered in memory (keeps its stack shallow).
    struct FeedbackList {
        address[] clients;
        uint64[] feedbackIndexes;
        int128[] values;
        uint8[] valueDecimals;
        string[] tag1s;
        string[] tag2s;
        bool[] revokedStatuses;
    }

    /// @notice The largest `valueDecimals`.
    uint8 public constant MAX_VALUE_DECIMALS = 18;

    /// @notice The largest magnitude of a value, so `value * 10**18` fits an int128.
    int128 public constant MAX_ABS_VALUE = 1e20;

    /// @notice The largest payment (keeps weights well inside 256-bit arithmetic).
    uint256 public constant MAX_PAYMENT = type(uint128).max;

    /// @notice The highest fee, in basis points (10%).
    uint16 public constant MAX_FEE_BPS = 1000;

    /// @dev Basis points in one whole.
    uint256 private constant BPS = 10_000;

    /// @notice The token agents are paid in.
    IERC20 public immutable token;

    /// @notice The identity registry agents and their wallets are read from.
    AgentRegistry public immutable identity;

    /// @notice Where fees go: the protocol's steward, who feeds them into funding rounds.
    address public immutable feeRecipient;

    /// @notice The fee on each payment, in basis points.
    uint16 public immutable feeBps;

    /// @notice The X402Splitter whose `settle` payments count as payments (zero: x402 not counted).
    IX402PaymentRecord public immutable x402Splitter;

    /// @dev Payments, by id (ids count from 1; index 0 is unused).
    Payment[] private _payments;

    /// @dev Payments not yet cited, by agent and payer (cited ones are skipped lazily).
    mapping(uint256 agentId => mapping(address payer => uint256[])) private _uncited;

    /// @dev Feedback by agent, reviewer and index (from 1).
    mapping(uint256 agentId => mapping(address client => mapping(uint64 index => Feedback))) private _feedback;

    /// @dev The last feedback index by agent and reviewer.
    mapping(uint256 agentId => mapping(address client => uint64)) private _lastIndex;

    /// @dev The x402 amount each reviewer has cited, by the wallet it paid (see the contract's notice).
    mapping(address reviewer => mapping(address wallet => uint256)) private _x402Cited;

    /// @dev Reviewers of each agent.
    mapping(uint256 agentId => address[]) private _clients;

    /// @dev Whether an account reviewed an agent.
    mapping(uint256 agentId => mapping(address client => bool)) private _isClient;

    /// @dev Who responded to each feedback, each once, in the order they first did.
    mapping(uint256 agentId => mapping(address client => mapping(uint64 index => address[]))) private _responders;

    /// @dev How many responses each responder appended to each feedback.
    mapping(
        uint256 agentId => mapping(address client => mapping(uint64 index => mapping(address responder => uint64)))
    ) private _responseCount;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys the reputation registry.
    /// @param token_ The token agents are paid in.
    /// @param identity_ The identity registry.
    /// @param feeRecipient_ Where fees go; not zero.
    /// @param feeBps_ The fee on each payment, at most `MAX_FEE_BPS`.
    /// @param x402Splitter_ The X402Splitter whose x402 payments count; zero for none.
    constructor(
        IERC20 token_,
        AgentRegistry identity_,
        address feeRecipient_,
        uint16 feeBps_,
        IX402PaymentRecord x402Splitter_
    ) {
        if (feeRecipient_ == address(0)) revert ZeroFeeRecipient();
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        token = token_;
        identity = identity_;
        feeRecipient = feeRecipient_;
        feeBps = feeBps_;
        x402Splitter = x402Splitter_;
        _payments.push(); // ids count from 1
    }

    // ---------------------------------------------------------------- external

    /// @notice Pays an agent: pulls `amount` from the caller (approve first), sends the fee to the
    ///         fee recipient and the rest to the agent's verified wallet, and records the payment.
    /// @param agentId The agent; must exist and have a wallet.
    /// @param amount The amount, in base units; above zero, at most `MAX_PAYMENT`.
    /// @param memo A note for the agent (an invoice id, an order).
    /// @return paymentId The payment's id, to cite in feedback.
    function payAgent(uint256 agentId, uint256 amount, string calldata memo)
        external
        nonReentrant
        returns (uint256 paymentId)
    {
        if (amount == 0) revert ZeroAmount();
        if (amount > MAX_PAYMENT) revert AmountTooLarge(amount, MAX_PAYMENT);
        address wallet = _walletOf(agentId);
        if (wallet == address(0)) revert AgentHasNoWallet(agentId);
        _checkNotSelf(agentId, msg.sender, wallet);

        uint256 fee = Math.mulDiv(amount, feeBps, BPS);
        paymentId = _payments.length;
        _payments.push(Payment({payer: msg.sender, cited: false, agentId: agentId, amount: amount}));
        _uncited[agentId][msg.sender].push(paymentId);

        token.safeTransferFrom(msg.sender, wallet, amount - fee);
        if (fee != 0) token.safeTransferFrom(msg.sender, feeRecipient, fee);
        emit AgentPaid(paymentId, agentId, msg.sender, wallet, amount, fee, memo);
    }

    /// @notice ERC-8004 feedback. Cites every payment the caller made to the agent and has not cited
    ///         yet, and what it paid the agent's wallet through X402Splitter's `settle` and has not
    ///         cited yet (at most `MAX_PAYMENT` of it), and weighs their total; refused when there is
    ///         nothing to cite.
    /// @param agentId The agent.
    /// @param value The value (a score, a rate; application-defined), `|value| <= MAX_ABS_VALUE`.
    /// @param valueDecimals Its decimals, at most `MAX_VALUE_DECIMALS`.
    /// @param tag1 A tag to filter by (optional).
    /// @param tag2 A second tag (optional).
    /// @param endpoint The endpoint reviewed (optional; emitted only).
    /// @param feedbackURI Where the details are (optional; emitted only).
    /// @param feedbackHash Their hash (optional; emitted only).
    function giveFeedback(
        uint256 agentId,
        int128 value,
        uint8 valueDecimals,
        string memory tag1,
        string memory tag2,
        string memory endpoint,
        string memory feedbackURI,
        bytes32 feedbackHash
    ) external {
        _giveFeedback(agentId, _input(value, valueDecimals, tag1, tag2, endpoint, feedbackURI, feedbackHash));
    }

    /// @notice Feedback citing one `payAgent` payment, weighted by its amount (x402 payments are
    ///         cited by `giveFeedback`).
    /// @param paymentId The payment; the caller must have made it, and it must not be cited yet.
    /// @param value The value, `|value| <= MAX_ABS_VALUE`.
    /// @param valueDecimals Its decimals, at most `MAX_VALUE_DECIMALS`.
    /// @param tag1 A tag (optional).
    /// @param tag2 A second tag (optional).
    /// @param endpoint The endpoint reviewed (optional; emitted only).
    /// @param feedbackURI Where the details are (optional; emitted only).
    /// @param feedbackHash Their hash (optional; emitted only).
    function giveFeedbackForPayment(
        uint256 paymentId,
        int128 value,
        uint8 valueDecimals,
        string memory tag1,
        string memory tag2,
        string memory endpoint,
        string memory feedbackURI,
        bytes32 feedbackHash
    ) external {
        if (paymentId == 0 || paymentId >= _payments.length) revert PaymentNotFound(paymentId);
        Payment storage p = _payments[paymentId];
        if (p.payer != msg.sender) revert NotPayer(paymentId, msg.sender);
        if (p.cited) revert PaymentAlreadyCited(paymentId);
        uint256 agentId = p.agentId;
        _checkNotSelf(agentId, msg.sender, _walletOf(agentId));
        p.cited = true;
        _record(agentId, p.amount, 1, _input(value, valueDecimals, tag1, tag2, endpoint, feedbackURI, feedbackHash));
    }

    /// @notice Revokes one of the caller's feedbacks: it no longer counts (its payments stay cited).
    /// @param agentId The agent.
    /// @param feedbackIndex The index (from 1).
    function revokeFeedback(uint256 agentId, uint64 feedbackIndex) external {
        Feedback storage f = _existing(agentId, msg.sender, feedbackIndex);
        if (f.isRevoked) revert FeedbackAlreadyRevoked(agentId, feedbackIndex);
        f.isRevoked = true;
        emit FeedbackRevoked(agentId, msg.sender, feedbackIndex);
    }

    /// @notice Appends a response to a feedback (anyone may: the agent, an auditor).
    /// @param agentId The agent.
    /// @param clientAddress The reviewer.
    /// @param feedbackIndex The feedback's index.
    /// @param responseURI Where the response is; not empty.
    /// @param responseHash Its hash.
    function appendResponse(
        uint256 agentId,
        address clientAddress,
        uint64 feedbackIndex,
        string calldata responseURI,
        bytes32 responseHash
    ) external {
        if (bytes(responseURI).length == 0) revert EmptyResponseURI();
        _existing(agentId, clientAddress, feedbackIndex);
        // Counted as ERC-8004's registry counts them, for `getResponseCount`.
        uint64 responses = _responseCount[agentId][clientAddress][feedbackIndex][msg.sender];
        if (responses == 0) _responders[agentId][clientAddress][feedbackIndex].push(msg.sender);
        _responseCount[agentId][clientAddress][feedbackIndex][msg.sender] = responses + 1;
        emit ResponseAppended(agentId, clientAddress, feedbackIndex, msg.sender, responseURI, responseHash);
    }

    /// @notice One feedback.
    /// @param agentId The agent.
    /// @param clientAddress The reviewer.
    /// @param feedbackIndex The index (from 1).
    /// @return value The value.
    /// @return valueDecimals Its decimals.
    /// @return tag1 The first tag.
    /// @return tag2 The second tag.
    /// @return isRevoked Whether it was revoked.
    function readFeedback(uint256 agentId, address clientAddress, uint64 feedbackIndex)
        external
        view
        returns (int128 value, uint8 valueDecimals, string memory tag1, string memory tag2, bool isRevoked)
    {
        Feedback storage f = _existing(agentId, clientAddress, feedbackIndex);
        return (f.value, f.valueDecimals, f.tag1, f.tag2, f.isRevoked);
    }

    /// @notice ERC-8004's list of feedback: every feedback of the given reviewers (all of them when
    ///         empty) that matches the tags (any when empty), revoked ones only when asked, by reviewer
    ///         and then index. Weights are not in it (`feedbackWeight` has them).
    /// @dev The filters take memory copies, not calldata: the same selector, and a shallower stack.
    /// @param agentId The agent.
    /// @param clientAddresses Reviewers to include (all when empty).
    /// @param tag1 Only feedback with this first tag (any when empty).
    /// @param tag2 Only feedback with this second tag (any when empty).
    /// @param includeRevoked Whether revoked feedback is listed too.
    /// @return clients Each feedback's reviewer.
    /// @return feedbackIndexes Its index for that reviewer.
    /// @return values Its value.
    /// @return valueDecimals Its decimals.
    /// @return tag1s Its first tag.
    /// @return tag2s Its second tag.
    /// @return revokedStatuses Whether it was revoked.
    function readAllFeedback(
        uint256 agentId,
        address[] memory clientAddresses,
        string memory tag1,
        string memory tag2,
        bool includeRevoked
    )
        external
        view
        returns (
            address[] memory clients,
            uint64[] memory feedbackIndexes,
            int128[] memory values,
            uint8[] memory valueDecimals,
            string[] memory tag1s,
            string[] memory tag2s,
            bool[] memory revokedStatuses
        )
    {
        FeedbackList memory l = _list(agentId, clientAddresses, tag1, tag2, includeRevoked);
        return (l.clients, l.feedbackIndexes, l.values, l.valueDecimals, l.tag1s, l.tag2s, l.revokedStatuses);
    }

    /// @notice ERC-8004's count of responses: to one feedback, to all of a reviewer's
    ///         (`feedbackIndex` 0), or to all of the agent's (`clientAddress` zero), from the given
    ///         responders (all when empty), as the deployed registry counts them.
    /// @param agentId The agent.
    /// @param clientAddress The reviewer; zero for every reviewer.
    /// @param feedbackIndex The feedback's index; 0 for every feedback of `clientAddress`.
    /// @param responders Responders to count (all when empty).
    /// @return count The number of responses.
    function getResponseCount(
        uint256 agentId,
        address clientAddress,
        uint64 feedbackIndex,
        address[] calldata responders
    ) external view returns (uint64 count) {
        if (clientAddress == address(0)) {
            address[] storage all = _clients[agentId];
            for (uint256 i; i < all.length; ++i) {
                count += _responsesToAll(agentId, all[i], responders);
            }
        } else if (feedbackIndex == 0) {
            count = _responsesToAll(agentId, clientAddress, responders);
        } else {
            count = _countResponses(agentId, clientAddress, feedbackIndex, responders);
        }
    }

    /// @notice The weight of one feedback: the total amount of the payments it cites.
    /// @param agentId The agent.
    /// @param clientAddress The reviewer.
    /// @param feedbackIndex The index (from 1).
    /// @return The weight.
    function feedbackWeight(uint256 agentId, address clientAddress, uint64 feedbackIndex)
        external
        view
        returns (uint256)
    {
        return _existing(agentId, clientAddress, feedbackIndex).weight;
    }

    /// @notice ERC-8004's summary: the count and payment-weighted mean of counted feedback (not
    ///         revoked, matching the tags when given), from the given reviewers or all of them.
    /// @param agentId The agent.
    /// @param clientAddresses Reviewers to include (all when empty).
    /// @param tag1 Only feedback with this first tag (any when empty).
    /// @param tag2 Only feedback with this second tag (any when empty).
    /// @return count The number of feedbacks counted.
    /// @return summaryValue The weighted mean.
    /// @return summaryValueDecimals Its decimals.
    function getSummary(uint256 agentId, address[] calldata clientAddresses, string calldata tag1, string calldata tag2)
        external
        view
        returns (uint64 count, int128 summaryValue, uint8 summaryValueDecimals)
    {
        (count, summaryValue, summaryValueDecimals,) =
            _summary(agentId, clientAddresses, [_tagHash(tag1), _tagHash(tag2)]);
    }

    /// @notice `getSummary` with the total weight (the amount paid by the reviewers counted).
    /// @param agentId The agent.
    /// @param clientAddresses Reviewers to include (all when empty).
    /// @param tag1 Only feedback with this first tag (any when empty).
    /// @param tag2 Only feedback with this second tag (any when empty).
    /// @return count The number of feedbacks counted.
    /// @return summaryValue The weighted mean.
    /// @return summaryValueDecimals Its decimals.
    /// @return totalWeight The sum of their weights.
    function getPaidSummary(
        uint256 agentId,
        address[] calldata clientAddresses,
        string calldata tag1,
        string calldata tag2
    ) external view returns (uint64 count, int128 summaryValue, uint8 summaryValueDecimals, uint256 totalWeight) {
        return _summary(agentId, clientAddresses, [_tagHash(tag1), _tagHash(tag2)]);
    }

    /// @notice A payment.
    /// @param paymentId The payment.
    /// @return The payment.
    function getPayment(uint256 paymentId) external view returns (Payment memory) {
        if (paymentId == 0 || paymentId >= _payments.length) revert PaymentNotFound(paymentId);
        return _payments[paymentId];
    }

    /// @notice The number of payments recorded, which is also the last id issued.
    /// @return The count.
    function paymentCount() external view returns (uint256) {
        return _payments.length - 1;
    }

    /// @notice Everyone who reviewed an agent.
    /// @param agentId The agent.
    /// @return The reviewers.
    function getClients(uint256 agentId) external view returns (address[] memory) {
        return _clients[agentId];
    }

    /// @notice A reviewer's last feedback index for an agent (0 when none).
    /// @param agentId The agent.
    /// @param clientAddress The reviewer.
    /// @return The index.
    function getLastIndex(uint256 agentId, address clientAddress) external view returns (uint64) {
        return _lastIndex[agentId][clientAddress];
    }

    /// @notice What `reviewer` has paid the agent's wallet through X402Splitter's `settle` and not
    ///         cited yet: what its next `giveFeedback` for `agentId` cites (at most `MAX_PAYMENT` of it).
    /// @param agentId The agent.
    /// @param reviewer The reviewer.
    /// @return The amount, in base units (zero without an X402Splitter or a wallet).
    function x402Uncited(uint256 agentId, address reviewer) external view returns (uint256) {
        address wallet = _walletOf(agentId);
        if (address(x402Splitter) == address(0) || wallet == address(0)) return 0;
        return x402Splitter.paidBy(reviewer, wallet) - _x402Cited[reviewer][wallet];
    }

    /// @notice What `reviewer` has cited of its x402 payments to `wallet`, for any agent.
    /// @param reviewer The reviewer.
    /// @param wallet The wallet (the provider paid).
    /// @return The amount, in base units.
    function x402Cited(address reviewer, address wallet) external view returns (uint256) {
        return _x402Cited[reviewer][wallet];
    }

    /// @notice The identity registry (ERC-8004).
    /// @return The registry's address.
    function getIdentityRegistry() external view returns (address) {
        return address(identity);
    }

    // ---------------------------------------------------------------- internal

    /// @dev ERC-8004's `giveFeedback`: cites the open `payAgent` payments and x402 amount, refusing
    ///      when both are nothing, and records the feedback weighted by their sum.
    function _giveFeedback(uint256 agentId, FeedbackInput memory input) internal {
        address wallet = _walletOf(agentId);
        _checkNotSelf(agentId, msg.sender, wallet);
        (uint256 weight, uint256 payments) = _citeUncited(agentId);
        uint256 x402Amount = _citeX402(wallet);
        if (weight == 0 && x402Amount == 0) revert NoPaymentToCite(agentId, msg.sender);
        uint64 index = _record(agentId, weight + x402Amount, payments, input);
        if (x402Amount != 0) {
            emit X402PaymentsCited(agentId, msg.sender, index, wallet, x402Amount, _x402Cited[msg.sender][wallet]);
        }
    }

    /// @dev Marks every payment the caller made to `agentId` and has not cited as cited; returns
    ///      their total and count (zero when there is none).
    function _citeUncited(uint256 agentId) internal returns (uint256 weight, uint256 cited) {
        uint256[] storage open = _uncited[agentId][msg.sender];
        uint256 length = open.length;
        if (length == 0) return (0, 0);
        for (uint256 i; i < length; ++i) {
            Payment storage p = _payments[open[i]];
            if (p.cited) continue;
            p.cited = true;
            weight += p.amount;
            ++cited;
        }
        delete _uncited[agentId][msg.sender];
    }

    /// @dev Marks what the caller paid `wallet` through X402Splitter's `settle` and has not cited as
    ///      cited, at most `MAX_PAYMENT` of it (the rest stays open); returns the amount. Kept by
    ///      wallet, not agent: see the contract's notice. `paidBy` only grows and the cited amount
    ///      never passes it, so the subtraction cannot underflow.
    function _citeX402(address wallet) internal returns (uint256 amount) {
        if (address(x402Splitter) == address(0) || wallet == address(0)) return 0;
        uint256 cited = _x402Cited[msg.sender][wallet];
        amount = x402Splitter.paidBy(msg.sender, wallet) - cited;
        if (amount > MAX_PAYMENT) amount = MAX_PAYMENT;
        if (amount != 0) _x402Cited[msg.sender][wallet] = cited + amount;
    }

    /// @dev Stores a weighted feedback and emits ERC-8004's event; returns its index.
    function _record(uint256 agentId, uint256 weight, uint256 payments, FeedbackInput memory input)
        internal
        returns (uint64 index)
    {
        if (input.valueDecimals > MAX_VALUE_DECIMALS) {
            revert ValueDecimalsTooLarge(input.valueDecimals, MAX_VALUE_DECIMALS);
        }
        if (input.value > MAX_ABS_VALUE || input.value < -MAX_ABS_VALUE) revert ValueTooLarge(input.value);
        index = _lastIndex[agentId][msg.sender] + 1;
        _lastIndex[agentId][msg.sender] = index;
        Feedback storage f = _feedback[agentId][msg.sender][index];
        f.value = input.value;
        f.valueDecimals = input.valueDecimals;
        f.weight = weight;
        f.tag1 = input.tag1;
        f.tag2 = input.tag2;
        if (!_isClient[agentId][msg.sender]) {
            _isClient[agentId][msg.sender] = true;
            _clients[agentId].push(msg.sender);
        }
        _emitNewFeedback(agentId, index, input);
        emit FeedbackWeighted(agentId, msg.sender, index, weight, payments);
    }

    /// @dev Emits ERC-8004's `NewFeedback` (its own function: the event has eleven fields).
    function _emitNewFeedback(uint256 agentId, uint64 index, FeedbackInput memory input) internal {
        emit NewFeedback(
            agentId,
            msg.sender,
            index,
            input.value,
            input.valueDecimals,
            input.tag1,
            input.tag1,
            input.tag2,
            input.endpoint,
            input.feedbackURI,
            input.feedbackHash
        );
    }

    /// @dev Gathers a feedback's fields (keeps the external functions' stacks shallow).
    function _input(
        int128 value,
        uint8 valueDecimals,
        string memory tag1,
        string memory tag2,
        string memory endpoint,
        string memory feedbackURI,
        bytes32 feedbackHash
    ) internal pure returns (FeedbackInput memory) {
        return FeedbackInput(value, valueDecimals, tag1, tag2, endpoint, feedbackURI, feedbackHash);
    }

    /// @dev The summary of the feedback of `clients` (all reviewers when empty) that matches
    ///      the tags (any when empty): two passes, one for the common decimals and the total weight,
    ///      one for the weighted mean.
    function _summary(uint256 agentId, address[] memory clients, bytes32[2] memory tags)
        internal
        view
        returns (uint64 count, int128 mean, uint8 decimals, uint256 totalWeight)
    {
        if (clients.length == 0) clients = _clients[agentId];
        for (uint256 i; i < clients.length; ++i) {
            (uint64 n, uint8 d, uint256 w) = _clientTotals(agentId, clients[i], tags);
            count += n;
            totalWeight += w;
            if (d > decimals) decimals = d;
        }
        if (totalWeight == 0) return (count, 0, decimals, 0);
        uint256 positive;
        uint256 negative;
        for (uint256 i; i < clients.length; ++i) {
            (uint256 p, uint256 n) = _clientTerms(agentId, clients[i], tags, totalWeight);
            positive += p;
            negative += n;
        }
        // The terms are at 18 decimals (each rounded down by less than 10**-18); one division brings
        // the mean to `decimals`, rounding toward zero. |mean| <= MAX_ABS_VALUE * 10**18 < 2**127.
        int256 scaled = (int256(positive) - int256(negative)) / int256(10 ** (MAX_VALUE_DECIMALS - decimals));
        // forge-lint: disable-next-line(unsafe-typecast)
        mean = int128(scaled);
    }

    /// @dev One reviewer's counted feedbacks: how many, their largest decimals, their total weight.
    function _clientTotals(uint256 agentId, address client, bytes32[2] memory tags)
        internal
        view
        returns (uint64 count, uint8 decimals, uint256 weight)
    {
        uint64 last = _lastIndex[agentId][client];
        for (uint64 j = 1; j <= last; ++j) {
            Feedback storage f = _feedback[agentId][client][j];
            if (!_counts(f, tags)) continue;
            ++count;
            weight += f.weight;
            if (f.valueDecimals > decimals) decimals = f.valueDecimals;
        }
    }

    /// @dev One reviewer's share of the weighted mean, at 18 decimals: `value * weight / totalWeight`
    ///      per feedback with `mulDiv` (each term is at most `|value|`, since `weight <= totalWeight`,
    ///      so nothing overflows), positive and negative terms apart.
    function _clientTerms(uint256 agentId, address client, bytes32[2] memory tags, uint256 totalWeight)
        internal
        view
        returns (uint256 positive, uint256 negative)
    {
        uint64 last = _lastIndex[agentId][client];
        for (uint64 j = 1; j <= last; ++j) {
            Feedback storage f = _feedback[agentId][client][j];
            if (!_counts(f, tags)) continue;
            int256 v = int256(f.value);
            uint256 magnitude = (v < 0 ? uint256(-v) : uint256(v)) * 10 ** (MAX_VALUE_DECIMALS - f.valueDecimals);
            uint256 term = Math.mulDiv(magnitude, f.weight, totalWeight);
            if (v < 0) negative += term;
            else positive += term;
        }
    }

    /// @dev `readAllFeedback`'s list: counted first, then filled.
    function _list(
        uint256 agentId,
        address[] memory clients,
        string memory tag1,
        string memory tag2,
        bool includeRevoked
    ) internal view returns (FeedbackList memory l) {
        if (clients.length == 0) clients = _clients[agentId];
        bytes32[2] memory tags = [_tagHashMemory(tag1), _tagHashMemory(tag2)];
        uint256 total = _countListed(agentId, clients, tags, includeRevoked);
        l.clients = new address[](total);
        l.feedbackIndexes = new uint64[](total);
        l.values = new int128[](total);
        l.valueDecimals = new uint8[](total);
        l.tag1s = new string[](total);
        l.tag2s = new string[](total);
        l.revokedStatuses = new bool[](total);
        uint256 k;
        for (uint256 i; i < clients.length; ++i) {
            k = _fill(l, k, agentId, clients[i], tags, includeRevoked);
        }
    }

    /// @dev Writes one reviewer's listed feedback into `l` from position `k`; returns the next position.
    function _fill(
        FeedbackList memory l,
        uint256 k,
        uint256 agentId,
        address client,
        bytes32[2] memory tags,
        bool includeRevoked
    ) internal view returns (uint256) {
        uint64 last = _lastIndex[agentId][client];
        for (uint64 j = 1; j <= last; ++j) {
            Feedback storage f = _feedback[agentId][client][j];
            if (!_listed(f, tags, includeRevoked)) continue;
            l.clients[k] = client;
            l.feedbackIndexes[k] = j;
            l.values[k] = f.value;
            l.valueDecimals[k] = f.valueDecimals;
            l.tag1s[k] = f.tag1;
            l.tag2s[k] = f.tag2;
            l.revokedStatuses[k] = f.isRevoked;
            ++k;
        }
        return k;
    }

    /// @dev How many feedbacks of `clients` `readAllFeedback` lists.
    function _countListed(uint256 agentId, address[] memory clients, bytes32[2] memory tags, bool includeRevoked)
        internal
        view
        returns (uint256 total)
    {
        for (uint256 i; i < clients.length; ++i) {
            uint64 last = _lastIndex[agentId][clients[i]];
            for (uint64 j = 1; j <= last; ++j) {
                if (_listed(_feedback[agentId][clients[i]][j], tags, includeRevoked)) ++total;
            }
        }
    }

    /// @dev Whether `readAllFeedback` lists a feedback: its tags match, and it is not revoked unless asked.
    function _listed(Feedback storage f, bytes32[2] memory tags, bool includeRevoked) internal view returns (bool) {
        if (f.isRevoked && !includeRevoked) return false;
        if (tags[0] != bytes32(0) && keccak256(bytes(f.tag1)) != tags[0]) return false;
        if (tags[1] != bytes32(0) && keccak256(bytes(f.tag2)) != tags[1]) return false;
        return true;
    }

    /// @dev The responses to every feedback of one reviewer, from `responders` (all when empty).
    function _responsesToAll(uint256 agentId, address client, address[] calldata responders)
        internal
        view
        returns (uint64 count)
    {
        uint64 last = _lastIndex[agentId][client];
        for (uint64 j = 1; j <= last; ++j) {
            count += _countResponses(agentId, client, j, responders);
        }
    }

    /// @dev The responses to one feedback from `responders` (all who responded when empty).
    function _countResponses(uint256 agentId, address client, uint64 feedbackIndex, address[] calldata responders)
        internal
        view
        returns (uint64 count)
    {
        mapping(address responder => uint64) storage counts = _responseCount[agentId][client][feedbackIndex];
        if (responders.length == 0) {
            address[] storage all = _responders[agentId][client][feedbackIndex];
            for (uint256 k; k < all.length; ++k) {
                count += counts[all[k]];
            }
        } else {
            for (uint256 k; k < responders.length; ++k) {
                count += counts[responders[k]];
            }
        }
    }

    /// @dev `_tagHash` of a tag in memory.
    function _tagHashMemory(string memory tag) internal pure returns (bytes32) {
        return bytes(tag).length == 0 ? bytes32(0) : keccak256(bytes(tag));
    }

    /// @dev The hash a tag filter compares with (zero for no filter).
    function _tagHash(string calldata tag) internal pure returns (bytes32) {
        return bytes(tag).length == 0 ? bytes32(0) : keccak256(bytes(tag));
    }

    /// @dev Whether a feedback counts in a summary with these tag filters.
    function _counts(Feedback storage f, bytes32[2] memory tags) internal view returns (bool) {
        if (f.isRevoked || f.weight == 0) return false;
        if (tags[0] != bytes32(0) && keccak256(bytes(f.tag1)) != tags[0]) return false;
        if (tags[1] != bytes32(0) && keccak256(bytes(f.tag2)) != tags[1]) return false;
        return true;
    }

    /// @dev A feedback that exists.
    function _existing(uint256 agentId, address clientAddress, uint64 feedbackIndex)
        internal
        view
        returns (Feedback storage)
    {
        if (feedbackIndex == 0 || feedbackIndex > _lastIndex[agentId][clientAddress]) {
            revert FeedbackNotFound(agentId, clientAddress, feedbackIndex);
        }
        return _feedback[agentId][clientAddress][feedbackIndex];
    }

    /// @dev The agent's wallet, refusing an agent that does not exist.
    function _walletOf(uint256 agentId) internal view returns (address) {
        if (!identity.exists(agentId)) revert AgentNotFound(agentId);
        return identity.getAgentWallet(agentId);
    }

    /// @dev Refuses the agent's owner, an operator of it, and its wallet.
    function _checkNotSelf(uint256 agentId, address account, address wallet) internal view {
        address owner = identity.ownerOf(agentId);
        if (
            account == owner || account == wallet || identity.getApproved(agentId) == account
                || identity.isApprovedForAll(owner, account)
        ) revert SelfDealing(agentId, account);
    }
}
