// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {PaymentChannels} from "./PaymentChannels.sol";
import {AttestationRegistry} from "./AttestationRegistry.sol";

/// @title QuadraticFunding
/// @notice Quadratic-funding rounds (Gitcoin-style CLR matching) for open models and the people who
///         make them, with a matching pool fed by funders and by the protocol fee on every paid
///         inference.
///
///         A round has a token, an application window, a donation window, a matching cap per
///         project, and optionally: a weight cap per donor, a list of attestation issuers donors must
///         be attested by, and a share of the pool matched by paid usage instead of donations.
///         Projects are a model (the match goes to whoever owns the model's token when claiming) or
///         an address (a lab, a team). Donations are held here and paid to the project with its match.
///
///         Matching. For each project, over its donors i with total donation c_i (capped at the
///         round's donor cap): weight = (sum_i sqrt(c_i))^2 - sum_i c_i, the amount CLR would add to
///         the donations. The donation pool is split in proportion to the weights, each share capped
///         at `matchingCapBps` of that pool. Usage matching is the same formula over the distinct
///         payers of a model's paid inference (read from PaymentChannels), applied to
///         `usageWeightBps` of the pool. If one side has no weight at all, the other gets the
///         whole pool. Square roots are integer square roots of `c_i * SCALE`, recomputed from each
///         donor's running total on every donation, so they never drift however a donor splits
///         their giving; each donation updates its project's sums and the round's total weight at
///         constant gas. Finalization makes one pass over projects to total the (rounded-down)
///         matches; whatever they leave of the pool (cap excess and rounding dust) is `unallocated`.
///
///         Time windows include their start and exclude their end (`start <= now < end`), like the
///         challenge period of PaymentChannels. Finalization is allowed from `donationEnd` on, by
///         anyone.
///
///         Protocol fees. PaymentChannels credits its protocol fee to this contract's earnings;
///         `collectProtocolFees` (permissionless, and run by `finalize` of a protocol-funded round)
///         withdraws them into the pool of the protocol round the steward designated, as long as
///         that round is not finalized; otherwise they are held in `reserve`, which moves into the
///         next protocol round when the steward designates it. The unallocated part of a round that
///         ever received protocol fees also goes back to the protocol (the current protocol round,
///         or the reserve); the unallocated part of any other round is the operator's to withdraw.
///
///         A pool is fixed at finalization: from then on, top-ups are refused and fees go elsewhere.
/// @dev Round and project ids count from 1. Amounts per donor, per project and per round tally are
///      bounded by 2^128 - 1 (`AmountTooLarge`), which keeps every square and product in range.
///      Every state-changing function is nonReentrant. Token amounts are credited by the balance
///      actually received, so a token that takes a fee on transfer is credited what arrived.
contract QuadraticFunding is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- errors

    /// @notice The steward is the zero address.
    error ZeroSteward();

    /// @notice Only the steward may do this.
    /// @param caller The account that tried.
    error NotSteward(address caller);

    /// @notice Only the account that deployed this contract may wire it to PaymentChannels.
    /// @param caller The account that tried.
    error NotDeployer(address caller);

    /// @notice PaymentChannels is already wired.
    /// @param paymentChannels The contract already wired.
    error PaymentChannelsAlreadySet(address paymentChannels);

    /// @notice The PaymentChannels given does not credit its protocol fee to this contract.
    /// @param fundingPool The account it credits.
    error NotFundingPoolOf(address fundingPool);

    /// @notice PaymentChannels is not wired yet, and this needs it.
    error PaymentChannelsNotSet();

    /// @notice The round's token is not a contract.
    /// @param token The token given.
    error TokenNotContract(address token);

    /// @notice The windows are out of order: each must start before it ends, applications may not
    ///         open after donations do, nor close after donations close.
    /// @param applicationStart Start of the application window.
    /// @param applicationEnd End of the application window.
    /// @param donationStart Start of the donation window.
    /// @param donationEnd End of the donation window.
    error InvalidWindows(uint64 applicationStart, uint64 applicationEnd, uint64 donationStart, uint64 donationEnd);

    /// @notice The donation window has already ended.
    /// @param donationEnd The end asked for.
    /// @param now The current block timestamp.
    error DonationEndInPast(uint64 donationEnd, uint64 now);

    /// @notice The matching cap is not in [1, 10000] basis points.
    /// @param matchingCapBps The cap asked for.
    error InvalidMatchingCap(uint16 matchingCapBps);

    /// @notice The usage weight is above 10000 basis points.
    /// @param usageWeightBps The weight asked for.
    error InvalidUsageWeight(uint16 usageWeightBps);

    /// @notice Attestation settings are inconsistent: issuers need a registry and a registry needs
    ///         at least one issuer, at most `MAX_ISSUERS`, none of them zero.
    /// @param attestations The registry given.
    /// @param issuers The number of issuers given.
    error InvalidAttestationConfig(address attestations, uint256 issuers);

    /// @notice No round has this id.
    /// @param roundId The id asked for.
    error RoundNotFound(uint256 roundId);

    /// @notice Only the round's operator may do this.
    /// @param roundId The round.
    /// @param caller The account that tried.
    error NotOperator(uint256 roundId, address caller);

    /// @notice The application window is not open.
    /// @param roundId The round.
    /// @param now The current block timestamp.
    /// @param start When it opens.
    /// @param end When it closes (excluded).
    error ApplicationWindowClosed(uint256 roundId, uint64 now, uint64 start, uint64 end);

    /// @notice The donation window is not open.
    /// @param roundId The round.
    /// @param now The current block timestamp.
    /// @param start When it opens.
    /// @param end When it closes (excluded).
    error DonationWindowClosed(uint256 roundId, uint64 now, uint64 start, uint64 end);

    /// @notice The model does not exist.
    /// @param modelId The model.
    error ModelNotFound(uint256 modelId);

    /// @notice Only the owner of the model's token may apply with it or claim for it.
    /// @param modelId The model.
    /// @param caller The account that tried.
    error NotModelOwner(uint256 modelId, address caller);

    /// @notice This model or address already has a project in the round.
    /// @param roundId The round.
    /// @param projectId The existing project.
    error AlreadyApplied(uint256 roundId, uint256 projectId);

    /// @notice The round has as many projects as one finalization can pass over.
    /// @param roundId The round.
    /// @param maximum The most projects a round holds.
    error RoundFull(uint256 roundId, uint256 maximum);

    /// @notice The project is not in the round.
    /// @param roundId The round.
    /// @param projectId The project asked for.
    error ProjectNotInRound(uint256 roundId, uint256 projectId);

    /// @notice The operator rejected this project; it takes no donations and gets no match.
    /// @param roundId The round.
    /// @param projectId The project.
    error ProjectRejected(uint256 roundId, uint256 projectId);

    /// @notice The project already has donations or usage, so it can no longer be rejected.
    /// @param roundId The round.
    /// @param projectId The project.
    error ProjectHasContributions(uint256 roundId, uint256 projectId);

    /// @notice An amount of zero was given, or zero tokens arrived.
    error ZeroAmount();

    /// @notice An amount, or a running total, is above what the contract accounts for.
    /// @param amount The amount.
    /// @param maximum The largest allowed.
    error AmountTooLarge(uint256 amount, uint256 maximum);

    /// @notice The round requires donors to be attested by one of its issuers, and this one is not.
    /// @param roundId The round.
    /// @param donor The donor.
    error DonorNotAttested(uint256 roundId, address donor);

    /// @notice The donation window has not ended, so the round cannot be finalized yet.
    /// @param roundId The round.
    /// @param donationEnd When it ends.
    /// @param now The current block timestamp.
    error RoundNotEnded(uint256 roundId, uint64 donationEnd, uint64 now);

    /// @notice The round is already finalized: its pool is fixed and its matches computed.
    /// @param roundId The round.
    error RoundAlreadyFinalized(uint256 roundId);

    /// @notice The round is not finalized yet.
    /// @param roundId The round.
    error RoundNotFinalized(uint256 roundId);

    /// @notice Only the project's recipient (the model token's owner, or the project's address) may claim.
    /// @param roundId The round.
    /// @param projectId The project.
    /// @param caller The account that tried.
    error NotProjectRecipient(uint256 roundId, uint256 projectId, address caller);

    /// @notice The project has already claimed.
    /// @param roundId The round.
    /// @param projectId The project.
    error AlreadyClaimed(uint256 roundId, uint256 projectId);

    /// @notice The project has no donations and no match to claim.
    /// @param roundId The round.
    /// @param projectId The project.
    error NothingToClaim(uint256 roundId, uint256 projectId);

    /// @notice Tokens cannot be sent to the zero address.
    error ZeroRecipient();

    /// @notice The round has nothing unallocated to withdraw.
    /// @param roundId The round.
    error NothingUnallocated(uint256 roundId);

    /// @notice The round received protocol fees, so its unallocated part went back to the protocol.
    /// @param roundId The round.
    error UnallocatedReturnedToProtocol(uint256 roundId);

    /// @notice Protocol fees can only fund a round in the token they are paid in.
    /// @param roundId The round.
    /// @param token The round's token.
    /// @param feeToken The token protocol fees are paid in.
    error WrongToken(uint256 roundId, address token, address feeToken);

    /// @notice The round gives no weight to usage.
    /// @param roundId The round.
    error UsageNotWeighed(uint256 roundId);

    /// @notice Usage counts from the start of the donation window until finalization.
    /// @param roundId The round.
    /// @param donationStart When usage starts counting.
    /// @param now The current block timestamp.
    error UsageNotOpen(uint256 roundId, uint64 donationStart, uint64 now);

    // ---------------------------------------------------------------- events

    /// @notice A round was created.
    /// @param roundId The round.
    /// @param operator Its operator (the creator).
    /// @param token The token donations, pool and matches are paid in.
    /// @param params Its configuration.
    event RoundCreated(uint256 indexed roundId, address indexed operator, address indexed token, RoundParams params);

    /// @notice A project joined a round.
    /// @param roundId The round.
    /// @param projectId The project.
    /// @param modelId The model it is (0 for an address project).
    /// @param recipient The address it pays (zero for a model project: the token's owner at claim).
    event ProjectApplied(uint256 indexed roundId, uint256 indexed projectId, uint256 indexed modelId, address recipient);

    /// @notice The operator rejected a project.
    /// @param roundId The round.
    /// @param projectId The project.
    event ProjectWasRejected(uint256 indexed roundId, uint256 indexed projectId);

    /// @notice A donation was made.
    /// @param roundId The round.
    /// @param projectId The project.
    /// @param donor The account that paid.
    /// @param donorKey The identity it counts under (the donor's address, or its attested identity).
    /// @param amount The amount received.
    /// @param donorTotal The identity's total donation to this project in this round now.
    event Donated(
        uint256 indexed roundId,
        uint256 indexed projectId,
        address indexed donor,
        bytes32 donorKey,
        uint256 amount,
        uint256 donorTotal
    );

    /// @notice The matching pool of a round grew.
    /// @param roundId The round.
    /// @param funder Who added to it (this contract when moving protocol fees or a reserve).
    /// @param amount The amount added (what arrived).
    /// @param pool The pool now.
    event PoolFunded(uint256 indexed roundId, address indexed funder, uint256 amount, uint256 pool);

    /// @notice Protocol fees were withdrawn from PaymentChannels.
    /// @param roundId The protocol round they went to, or 0 when they went to the reserve.
    /// @param amount The amount received.
    event ProtocolFeesCollected(uint256 indexed roundId, uint256 amount);

    /// @notice The steward designated the round protocol fees go to.
    /// @param roundId The round.
    /// @param reserveMoved The reserve moved into its pool.
    event ProtocolRoundSet(uint256 indexed roundId, uint256 reserveMoved);

    /// @notice Paid usage of a model was counted for its project.
    /// @param roundId The round.
    /// @param projectId The project.
    /// @param channelId The channel it was paid through.
    /// @param payer The channel's sender.
    /// @param payerKey The identity it counts under.
    /// @param amount The newly redeemed amount counted.
    event UsageRecorded(
        uint256 indexed roundId,
        uint256 indexed projectId,
        bytes32 indexed channelId,
        address payer,
        bytes32 payerKey,
        uint256 amount
    );

    /// @notice A round was finalized: its pool is fixed and its matches can be claimed.
    /// @param roundId The round.
    /// @param pool The matching pool.
    /// @param donationPool The part matched by donations.
    /// @param usagePool The part matched by usage.
    /// @param allocated The sum of every project's match.
    /// @param unallocated What the matches leave of the pool (cap excess and rounding dust).
    event RoundFinalized(
        uint256 indexed roundId,
        uint256 pool,
        uint256 donationPool,
        uint256 usagePool,
        uint256 allocated,
        uint256 unallocated
    );

    /// @notice A project claimed its donations and match.
    /// @param roundId The round.
    /// @param projectId The project.
    /// @param recipient The project's recipient, who claimed.
    /// @param to Where the tokens were sent.
    /// @param donations The donations paid.
    /// @param donationMatch The match from donations paid.
    /// @param usageMatch The match from usage paid.
    event Claimed(
        uint256 indexed roundId,
        uint256 indexed projectId,
        address indexed recipient,
        address to,
        uint256 donations,
        uint256 donationMatch,
        uint256 usageMatch
    );

    /// @notice The operator withdrew what a round left unallocated.
    /// @param roundId The round.
    /// @param to Where it was sent.
    /// @param amount The amount.
    event UnallocatedWithdrawn(uint256 indexed roundId, address indexed to, uint256 amount);

    /// @notice A protocol-funded round's unallocated part went back to the protocol.
    /// @param roundId The round.
    /// @param toRoundId The protocol round it went to, or 0 for the reserve.
    /// @param amount The amount.
    event UnallocatedReturned(uint256 indexed roundId, uint256 indexed toRoundId, uint256 amount);

    /// @notice PaymentChannels was wired.
    /// @param paymentChannels The contract.
    event PaymentChannelsSet(address indexed paymentChannels);

    /// @notice The steward changed.
    /// @param previous The previous steward.
    /// @param steward The new steward.
    event StewardChanged(address indexed previous, address indexed steward);

    // ---------------------------------------------------------------- storage

    /// @notice What a round is created with.
    /// @param token The token donations, pool and matches are paid in.
    /// @param applicationStart When applications open.
    /// @param applicationEnd When they close (excluded); at most `donationEnd`.
    /// @param donationStart When donations open; at least `applicationStart`.
    /// @param donationEnd When they close (excluded); the round can be finalized from then on.
    /// @param matchingCapBps The most one project's match can be, in basis points of the pool
    ///        (of each part, donations and usage); 10000 for no cap.
    /// @param usageWeightBps The share of the pool matched by paid usage, in basis points; 0 for none.
    /// @param donorCap The most of one donor's (or payer's) total per project that counts for
    ///        matching; 0 for no cap. Donations above it are still paid to the project.
    /// @param attestations The registry donors must be attested in; zero for none.
    /// @param issuers The issuers whose attestations count, in order of preference (the first that
    ///        attests a donor gives its identity); empty when there is no registry.
    struct RoundParams {
        IERC20 token;
        uint64 applicationStart;
        uint64 applicationEnd;
        uint64 donationStart;
        uint64 donationEnd;
        uint16 matchingCapBps;
        uint16 usageWeightBps;
        uint128 donorCap;
        AttestationRegistry attestations;
        address[] issuers;
    }

    /// @notice A round, as returned by `getRound`.
    /// @param token The token donations, pool and matches are paid in.
    /// @param donationStart When donations (and usage counting) open.
    /// @param matchingCapBps The per-project cap on each part of the match, basis points of that part's pool.
    /// @param usageWeightBps The share of the pool matched by usage, in basis points.
    /// @param attestations The registry donors must be attested in (zero for none).
    /// @param donationEnd When donations close (excluded).
    /// @param projectCount The number of projects (rejected ones included).
    /// @param operator The account that created the round.
    /// @param applicationStart When applications open.
    /// @param finalized Whether the round is finalized.
    /// @param protocolFunded Whether the round was ever the protocol round (its unallocated part
    ///        then returns to the protocol).
    /// @param donorCap The most of one donor's total per project that counts (0: no cap).
    /// @param applicationEnd When applications close (excluded).
    /// @param pool The matching pool (fixed once finalized).
    /// @param donationWeight The sum of every project's donation weight.
    /// @param usageWeight The sum of every project's usage weight.
    /// @param donationPool The part of the pool matched by donations (set at finalization).
    /// @param usagePool The part of the pool matched by usage (set at finalization).
    /// @param unallocated What the matches left of the pool and is not yet withdrawn or returned.
    struct Round {
        // slot 0: read by every donation
        IERC20 token;
        uint64 donationStart;
        uint16 matchingCapBps;
        uint16 usageWeightBps;
        // slot 1: read by every donation
        AttestationRegistry attestations;
        uint64 donationEnd;
        uint32 projectCount;
        // slot 2
        address operator;
        uint64 applicationStart;
        bool finalized;
        bool protocolFunded;
        // slot 3
        uint128 donorCap;
        uint64 applicationEnd;
        // totals
        uint256 pool;
        uint256 donationWeight;
        uint256 usageWeight;
        // set at finalization
        uint256 donationPool;
        uint256 usagePool;
        uint256 unallocated;
    }

    /// @notice The matching inputs of one side (donations or usage) of a project.
    /// @param sqrtSum The sum over contributors of `sqrt(min(total, donorCap) * SCALE)`.
    /// @param counted The sum over contributors of `min(total, donorCap)`.
    /// @param amount Everything contributed (for donations, what the project is paid).
    /// @param contributors The number of distinct donors (or payers).
    struct Tally {
        uint128 sqrtSum;
        uint128 counted;
        uint128 amount;
        uint64 contributors;
    }

    /// @notice A project, as returned by `getProject`.
    /// @param recipient The address paid (address projects); zero for a model project.
    /// @param modelId The model (model projects); 0 for an address project.
    /// @param rejected Whether the operator rejected it.
    /// @param claimed Whether it has claimed.
    /// @param donations Its donations' matching inputs.
    /// @param usage Its paid usage's matching inputs.
    struct Project {
        address recipient;
        uint64 modelId;
        bool rejected;
        bool claimed;
        Tally donations;
        Tally usage;
    }

    /// @notice Square roots are taken of `amount * SCALE`, so that small amounts keep precision:
    ///         sqrt(1 base unit) is 1e9 units of weight.
    uint256 public constant SCALE = 1e18;

    /// @notice The most projects a round holds, so finalization's one pass fits in a block.
    uint256 public constant MAX_PROJECTS = 1000;

    /// @notice The most attestation issuers a round names.
    uint256 public constant MAX_ISSUERS = 4;

    /// @dev Basis points in one whole.
    uint256 private constant BPS = 10_000;

    /// @dev Largest per-donor, per-project or per-round tally amount.
    uint256 private constant MAX_AMOUNT = type(uint128).max;

    /// @notice The model registry model projects are checked against, and whose token owners claim.
    ModelRegistry public immutable models;

    /// @notice The account allowed to wire PaymentChannels, once.
    address public immutable deployer;

    /// @notice PaymentChannels, whose protocol fees feed the protocol round and whose channels
    ///         measure usage. Set once after deployment (it needs this contract's address first).
    PaymentChannels public paymentChannels;

    /// @notice The account that designates the protocol round (a DAO or multisig on a real network).
    address public steward;

    /// @notice The round protocol fees go to while it is not finalized (0: none yet).
    uint256 public protocolRoundId;

    /// @notice Protocol fees (and protocol rounds' unallocated parts) waiting for the next protocol round.
    uint256 public reserve;

    /// @notice The number of rounds created, which is also the last id issued.
    uint256 public roundCount;

    /// @dev Rounds by id.
    mapping(uint256 roundId => Round) private _rounds;

    /// @dev Attestation issuers by round.
    mapping(uint256 roundId => address[]) private _issuers;

    /// @dev Projects by round, then id.
    mapping(uint256 roundId => mapping(uint256 projectId => Project)) private _projects;

    /// @dev Project ids by round, then model (model projects).
    mapping(uint256 roundId => mapping(uint256 modelId => uint256 projectId)) private _projectOfModel;

    /// @dev Project ids by round, then recipient (address projects).
    mapping(uint256 roundId => mapping(address recipient => uint256 projectId)) private _projectOfRecipient;

    /// @dev Each donor identity's total donation, by round and project.
    mapping(uint256 roundId => mapping(uint256 projectId => mapping(bytes32 donorKey => uint256))) private _donations;

    /// @dev Each payer identity's total counted usage, by round and project.
    mapping(uint256 roundId => mapping(uint256 projectId => mapping(bytes32 payerKey => uint256))) private _usage;

    /// @dev The cumulative redeemed amount of each channel epoch already counted (in any round).
    mapping(bytes32 channelId => mapping(uint64 epoch => uint256)) private _usageSeen;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys the funding contract. Wire PaymentChannels with `setPaymentChannels` once it
    ///         is deployed with this contract as its funding pool.
    /// @param models_ The model registry.
    /// @param steward_ The account that designates the protocol round; must not be zero.
    constructor(ModelRegistry models_, address steward_) {
        if (steward_ == address(0)) revert ZeroSteward();
        models = models_;
        steward = steward_;
        deployer = msg.sender;
        emit StewardChanged(address(0), steward_);
    }

    // ---------------------------------------------------------------- external: setup

    /// @notice Wires PaymentChannels, once. It must credit its protocol fee to this contract.
    /// @param paymentChannels_ The channels contract.
    function setPaymentChannels(PaymentChannels paymentChannels_) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (address(paymentChannels) != address(0)) revert PaymentChannelsAlreadySet(address(paymentChannels));
        address pool = paymentChannels_.fundingPool();
        if (pool != address(this)) revert NotFundingPoolOf(pool);
        paymentChannels = paymentChannels_;
        emit PaymentChannelsSet(address(paymentChannels_));
    }

    /// @notice Hands stewardship to another account.
    /// @param steward_ The new steward; must not be zero.
    function setSteward(address steward_) external {
        if (msg.sender != steward) revert NotSteward(msg.sender);
        if (steward_ == address(0)) revert ZeroSteward();
        emit StewardChanged(steward, steward_);
        steward = steward_;
    }

    /// @notice Designates the round protocol fees go to, and moves the reserve into its pool.
    /// @param roundId The round; not finalized, in the token protocol fees are paid in.
    function setProtocolRound(uint256 roundId) external nonReentrant {
        if (msg.sender != steward) revert NotSteward(msg.sender);
        PaymentChannels channels = _channels();
        Round storage round = _round(roundId);
        if (round.finalized) revert RoundAlreadyFinalized(roundId);
        address feeToken = address(channels.token());
        if (address(round.token) != feeToken) revert WrongToken(roundId, address(round.token), feeToken);
        protocolRoundId = roundId;
        round.protocolFunded = true;
        uint256 moved = reserve;
        if (moved != 0) {
            reserve = 0;
            _addToPool(roundId, round, address(this), moved);
        }
        emit ProtocolRoundSet(roundId, moved);
    }

    // ---------------------------------------------------------------- external: rounds

    /// @notice Creates a round operated by the caller.
    /// @param params The round's configuration (see `RoundParams`).
    /// @return roundId The new round's id.
    function createRound(RoundParams calldata params) external returns (uint256 roundId) {
        if (address(params.token).code.length == 0) revert TokenNotContract(address(params.token));
        if (
            params.applicationStart >= params.applicationEnd || params.donationStart >= params.donationEnd
                || params.applicationStart > params.donationStart || params.applicationEnd > params.donationEnd
        ) {
            revert InvalidWindows(
                params.applicationStart, params.applicationEnd, params.donationStart, params.donationEnd
            );
        }
        if (params.donationEnd <= block.timestamp) revert DonationEndInPast(params.donationEnd, uint64(block.timestamp));
        if (params.matchingCapBps == 0 || params.matchingCapBps > BPS) revert InvalidMatchingCap(params.matchingCapBps);
        if (params.usageWeightBps > BPS) revert InvalidUsageWeight(params.usageWeightBps);
        if (params.usageWeightBps != 0 && address(paymentChannels) == address(0)) revert PaymentChannelsNotSet();
        _checkAttestationConfig(params.attestations, params.issuers);

        roundId = ++roundCount;
        Round storage round = _rounds[roundId];
        round.token = params.token;
        round.donationStart = params.donationStart;
        round.matchingCapBps = params.matchingCapBps;
        round.usageWeightBps = params.usageWeightBps;
        round.attestations = params.attestations;
        round.donationEnd = params.donationEnd;
        round.operator = msg.sender;
        round.applicationStart = params.applicationStart;
        round.donorCap = params.donorCap;
        round.applicationEnd = params.applicationEnd;
        _issuers[roundId] = params.issuers;

        emit RoundCreated(roundId, msg.sender, address(params.token), params);
    }

    /// @notice Joins a round as a project during its application window: with a model (the caller
    ///         must own its token; the match goes to whoever owns it when claiming), or with
    ///         `modelId` 0 as the caller's own address (a lab, a team, a multisig).
    /// @param roundId The round.
    /// @param modelId The model, or 0 for an address project.
    /// @return projectId The new project's id.
    function applyProject(uint256 roundId, uint256 modelId) external returns (uint256 projectId) {
        Round storage round = _round(roundId);
        _checkWindow(roundId, round.applicationStart, round.applicationEnd, true);
        uint256 count = round.projectCount;
        if (count >= MAX_PROJECTS) revert RoundFull(roundId, MAX_PROJECTS);
        address recipient;
        if (modelId != 0) {
            if (modelId > type(uint64).max || !models.exists(modelId)) revert ModelNotFound(modelId);
            if (models.ownerOf(modelId) != msg.sender) revert NotModelOwner(modelId, msg.sender);
            uint256 existing = _projectOfModel[roundId][modelId];
            if (existing != 0) revert AlreadyApplied(roundId, existing);
        } else {
            recipient = msg.sender;
            uint256 existing = _projectOfRecipient[roundId][recipient];
            if (existing != 0) revert AlreadyApplied(roundId, existing);
        }

        projectId = count + 1;
        // casting to 'uint32' is safe because `projectId` is at most MAX_PROJECTS
        // forge-lint: disable-next-line(unsafe-typecast)
        round.projectCount = uint32(projectId);
        Project storage project = _projects[roundId][projectId];
        if (modelId != 0) {
            // casting to 'uint64' is safe because `modelId` was checked against `type(uint64).max` above
            // forge-lint: disable-next-line(unsafe-typecast)
            project.modelId = uint64(modelId);
            _projectOfModel[roundId][modelId] = projectId;
        } else {
            project.recipient = recipient;
            _projectOfRecipient[roundId][recipient] = projectId;
        }
        emit ProjectApplied(roundId, projectId, modelId, recipient);
    }

    /// @notice Rejects a project, as the round's operator, before it has any donation or usage and
    ///         before finalization. A rejected project takes no donations and gets no match.
    /// @param roundId The round.
    /// @param projectId The project.
    function rejectProject(uint256 roundId, uint256 projectId) external {
        Round storage round = _round(roundId);
        if (msg.sender != round.operator) revert NotOperator(roundId, msg.sender);
        if (round.finalized) revert RoundAlreadyFinalized(roundId);
        Project storage project = _project(roundId, round, projectId);
        if (project.donations.contributors != 0 || project.usage.contributors != 0) {
            revert ProjectHasContributions(roundId, projectId);
        }
        project.rejected = true;
        emit ProjectWasRejected(roundId, projectId);
    }

    /// @notice Donates `amount` of the round's token to a project (approve first), during the
    ///         donation window. Updates the project's matching inputs at constant gas.
    /// @param roundId The round.
    /// @param projectId The project.
    /// @param amount The amount to pull; what arrives is credited.
    /// @return received The amount credited.
    function donate(uint256 roundId, uint256 projectId, uint256 amount) external nonReentrant returns (uint256 received) {
        if (amount == 0) revert ZeroAmount();
        Round storage round = _round(roundId);
        _checkWindow(roundId, round.donationStart, round.donationEnd, false);
        Project storage project = _project(roundId, round, projectId);
        bytes32 donorKey = _identityOf(roundId, round, msg.sender);
        if (donorKey == bytes32(0)) revert DonorNotAttested(roundId, msg.sender);

        received = _pull(round.token, amount);
        mapping(bytes32 => uint256) storage totals = _donations[roundId][projectId];
        uint256 before = totals[donorKey];
        uint256 total = before + received;
        if (total > MAX_AMOUNT) revert AmountTooLarge(total, MAX_AMOUNT);
        totals[donorKey] = total;
        round.donationWeight = _tally(project.donations, round.donationWeight, before, total, round.donorCap);

        emit Donated(roundId, projectId, msg.sender, donorKey, received, total);
    }

    /// @notice Adds `amount` to a round's matching pool (approve first), until it is finalized.
    /// @param roundId The round.
    /// @param amount The amount to pull; what arrives is added.
    /// @return received The amount added.
    function fundPool(uint256 roundId, uint256 amount) external nonReentrant returns (uint256 received) {
        if (amount == 0) revert ZeroAmount();
        Round storage round = _round(roundId);
        if (round.finalized) revert RoundAlreadyFinalized(roundId);
        received = _pull(round.token, amount);
        _addToPool(roundId, round, msg.sender, received);
    }

    /// @notice Withdraws the protocol fees PaymentChannels holds for this contract into the protocol
    ///         round's pool (or the reserve when there is no open protocol round). Anyone may call it.
    /// @return received The amount withdrawn (0 when there was nothing).
    function collectProtocolFees() external nonReentrant returns (uint256 received) {
        received = _collectProtocolFees(_channels());
    }

    /// @notice Counts the paid usage of channels for the round's model projects: for each channel,
    ///         the increase of its redeemed amount since this contract last looked at that channel
    ///         epoch, credited to the channel's sender as payer. Each paid base unit counts once, in
    ///         the first round it is recorded for. Channels whose model is not a (non-rejected)
    ///         project of the round, or whose sender is not attested when the round requires it,
    ///         are skipped and stay uncounted. Anyone may call it, from the start of the donation
    ///         window until finalization.
    /// @param roundId The round; must give weight to usage.
    /// @param channelIds The channels to look at.
    /// @return credited The total usage counted.
    function recordUsage(uint256 roundId, bytes32[] calldata channelIds) external nonReentrant returns (uint256 credited) {
        Round storage round = _round(roundId);
        if (round.usageWeightBps == 0) revert UsageNotWeighed(roundId);
        if (round.finalized) revert RoundAlreadyFinalized(roundId);
        if (block.timestamp < round.donationStart) {
            revert UsageNotOpen(roundId, round.donationStart, uint64(block.timestamp));
        }
        PaymentChannels channels = _channels();
        uint256 usageWeight = round.usageWeight;
        for (uint256 i; i < channelIds.length; ++i) {
            uint256 amount;
            (amount, usageWeight) = _recordChannel(roundId, round, channels, channelIds[i], usageWeight);
            credited += amount;
        }
        round.usageWeight = usageWeight;
    }

    /// @notice Finalizes a round once its donation window has ended: collects protocol fees first
    ///         if it is protocol-funded, fixes its pool, and computes every project's match in one
    ///         pass. Anyone may call it. The part of the pool the matches leave is `unallocated`:
    ///         returned to the protocol for a protocol-funded round, otherwise the operator's to
    ///         withdraw. A round with an empty pool finalizes too: its projects claim their donations.
    /// @param roundId The round.
    /// @return allocated The sum of every project's match.
    function finalize(uint256 roundId) external nonReentrant returns (uint256 allocated) {
        Round storage round = _round(roundId);
        if (round.finalized) revert RoundAlreadyFinalized(roundId);
        if (block.timestamp < round.donationEnd) {
            revert RoundNotEnded(roundId, round.donationEnd, uint64(block.timestamp));
        }
        if (round.protocolFunded && protocolRoundId == roundId) _collectProtocolFees(paymentChannels);

        uint256 pool = round.pool;
        (uint256 donationPool, uint256 usagePool) =
            _splitPool(pool, round.usageWeightBps, round.donationWeight, round.usageWeight);
        round.finalized = true;
        round.donationPool = donationPool;
        round.usagePool = usagePool;

        uint256 count = round.projectCount;
        for (uint256 projectId = 1; projectId <= count; ++projectId) {
            (uint256 donationMatch, uint256 usageMatch) = _matchOf(round, _projects[roundId][projectId]);
            allocated += donationMatch + usageMatch;
        }
        uint256 unallocated = pool - allocated;
        emit RoundFinalized(roundId, pool, donationPool, usagePool, allocated, unallocated);

        if (round.protocolFunded && unallocated != 0) {
            _returnToProtocol(roundId, unallocated);
        } else {
            round.unallocated = unallocated;
        }
    }

    /// @notice Pays a project its donations and match, once, to `to`. Only the project's recipient
    ///         may claim: for a model project, whoever owns the model's token now.
    /// @param roundId The round; must be finalized.
    /// @param projectId The project.
    /// @param to Where to send the tokens; must not be zero.
    /// @return amount The amount paid.
    function claim(uint256 roundId, uint256 projectId, address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert ZeroRecipient();
        Round storage round = _round(roundId);
        if (!round.finalized) revert RoundNotFinalized(roundId);
        Project storage project = _project(roundId, round, projectId);
        address recipient = _recipientOf(project);
        if (msg.sender != recipient) revert NotProjectRecipient(roundId, projectId, msg.sender);
        if (project.claimed) revert AlreadyClaimed(roundId, projectId);
        (uint256 donationMatch, uint256 usageMatch) = _matchOf(round, project);
        uint256 donations = project.donations.amount;
        amount = donations + donationMatch + usageMatch;
        if (amount == 0) revert NothingToClaim(roundId, projectId);
        project.claimed = true;
        round.token.safeTransfer(to, amount);
        emit Claimed(roundId, projectId, recipient, to, donations, donationMatch, usageMatch);
    }

    /// @notice Pays the operator what a finalized round left unallocated (cap excess and rounding
    ///         dust). Not for protocol-funded rounds, whose unallocated part returned to the protocol.
    /// @param roundId The round; the caller must be its operator.
    /// @param to Where to send it; must not be zero.
    /// @return amount The amount paid.
    function withdrawUnallocated(uint256 roundId, address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert ZeroRecipient();
        Round storage round = _round(roundId);
        if (msg.sender != round.operator) revert NotOperator(roundId, msg.sender);
        if (!round.finalized) revert RoundNotFinalized(roundId);
        if (round.protocolFunded) revert UnallocatedReturnedToProtocol(roundId);
        amount = round.unallocated;
        if (amount == 0) revert NothingUnallocated(roundId);
        round.unallocated = 0;
        round.token.safeTransfer(to, amount);
        emit UnallocatedWithdrawn(roundId, to, amount);
    }

    // ---------------------------------------------------------------- external: views

    /// @notice A round's configuration and totals.
    /// @param roundId The round.
    /// @return The round.
    function getRound(uint256 roundId) external view returns (Round memory) {
        return _round(roundId);
    }

    /// @notice The attestation issuers a round names.
    /// @param roundId The round.
    /// @return The issuers, in order of preference.
    function issuersOf(uint256 roundId) external view returns (address[] memory) {
        _round(roundId);
        return _issuers[roundId];
    }

    /// @notice A project's recipient and matching inputs (rejected projects included, flagged).
    /// @param roundId The round.
    /// @param projectId The project.
    /// @return The project.
    function getProject(uint256 roundId, uint256 projectId) external view returns (Project memory) {
        Round storage round = _round(roundId);
        return _projectInRound(roundId, round, projectId);
    }

    /// @notice Who may claim for a project now: the model token's owner, or the project's address.
    /// @param roundId The round.
    /// @param projectId The project.
    /// @return The recipient.
    function recipientOf(uint256 roundId, uint256 projectId) external view returns (address) {
        Round storage round = _round(roundId);
        return _recipientOf(_projectInRound(roundId, round, projectId));
    }

    /// @notice A finalized round's match for a project, in its two parts (zero for a rejected one).
    /// @param roundId The round; must be finalized.
    /// @param projectId The project.
    /// @return donationMatch The match from donations.
    /// @return usageMatch The match from usage.
    function matchOf(uint256 roundId, uint256 projectId)
        external
        view
        returns (uint256 donationMatch, uint256 usageMatch)
    {
        Round storage round = _round(roundId);
        if (!round.finalized) revert RoundNotFinalized(roundId);
        return _matchOf(round, _projectInRound(roundId, round, projectId));
    }

    /// @notice The project id a model has in a round (0: none).
    /// @param roundId The round.
    /// @param modelId The model.
    /// @return The project id.
    function projectIdOfModel(uint256 roundId, uint256 modelId) external view returns (uint256) {
        return _projectOfModel[roundId][modelId];
    }

    /// @notice The project id an address has in a round (0: none).
    /// @param roundId The round.
    /// @param recipient The address.
    /// @return The project id.
    function projectIdOfRecipient(uint256 roundId, address recipient) external view returns (uint256) {
        return _projectOfRecipient[roundId][recipient];
    }

    /// @notice The identity `account` donates under in a round: its address when the round requires
    ///         no attestation, otherwise `keccak256(abi.encode(issuer, uid))` of the first issuer
    ///         attesting it, or zero when none does.
    /// @param roundId The round.
    /// @param account The account.
    /// @return The identity, or zero.
    function donorKeyOf(uint256 roundId, address account) external view returns (bytes32) {
        return _identityOf(roundId, _round(roundId), account);
    }

    /// @notice An identity's total donation to a project in a round.
    /// @param roundId The round.
    /// @param projectId The project.
    /// @param donorKey The identity (see `donorKeyOf`).
    /// @return The total, in token base units.
    function donationOf(uint256 roundId, uint256 projectId, bytes32 donorKey) external view returns (uint256) {
        return _donations[roundId][projectId][donorKey];
    }

    /// @notice An identity's total counted usage of a project's model in a round.
    /// @param roundId The round.
    /// @param projectId The project.
    /// @param payerKey The identity (see `donorKeyOf`).
    /// @return The total, in PaymentChannels token base units.
    function usageOf(uint256 roundId, uint256 projectId, bytes32 payerKey) external view returns (uint256) {
        return _usage[roundId][projectId][payerKey];
    }

    /// @notice The cumulative redeemed amount of a channel epoch already counted, in any round.
    /// @param channelId The channel.
    /// @param epoch The epoch.
    /// @return The amount.
    function usageSeen(bytes32 channelId, uint64 epoch) external view returns (uint256) {
        return _usageSeen[channelId][epoch];
    }

    /// @notice What `recordUsage(roundId, [channelId])` would count now (amount 0 when nothing).
    /// @param roundId The round.
    /// @param channelId The channel.
    /// @return projectId The project it would count for.
    /// @return payerKey The identity it would count under.
    /// @return amount The amount it would count.
    function pendingUsage(uint256 roundId, bytes32 channelId)
        external
        view
        returns (uint256 projectId, bytes32 payerKey, uint256 amount)
    {
        (projectId, payerKey, amount,) = _pendingUsage(roundId, _round(roundId), _channels(), channelId);
    }

    /// @notice The matching weight of one side of a project: `(sqrtSum^2 / SCALE) - counted`, or 0
    ///         when that is negative (integer square roots round down, so one contributor can land
    ///         a unit below their amount).
    /// @param sqrtSum The sum of square roots.
    /// @param counted The sum of counted amounts.
    /// @return The weight.
    function weightOf(uint256 sqrtSum, uint256 counted) public pure returns (uint256) {
        uint256 square = sqrtSum * sqrtSum / SCALE;
        return square > counted ? square - counted : 0;
    }

    // ---------------------------------------------------------------- internal

    /// @dev The round, reverting with `RoundNotFound` when it does not exist.
    function _round(uint256 roundId) internal view returns (Round storage round) {
        round = _rounds[roundId];
        if (address(round.token) == address(0)) revert RoundNotFound(roundId);
    }

    /// @dev The project, reverting unless it is in the round and not rejected.
    function _project(uint256 roundId, Round storage round, uint256 projectId)
        internal
        view
        returns (Project storage project)
    {
        project = _projectInRound(roundId, round, projectId);
        if (project.rejected) revert ProjectRejected(roundId, projectId);
    }

    /// @dev The project, rejected or not, reverting unless it is in the round.
    function _projectInRound(uint256 roundId, Round storage round, uint256 projectId)
        internal
        view
        returns (Project storage)
    {
        if (projectId == 0 || projectId > round.projectCount) revert ProjectNotInRound(roundId, projectId);
        return _projects[roundId][projectId];
    }

    /// @dev PaymentChannels, reverting with `PaymentChannelsNotSet` before it is wired.
    function _channels() internal view returns (PaymentChannels channels) {
        channels = paymentChannels;
        if (address(channels) == address(0)) revert PaymentChannelsNotSet();
    }

    /// @dev Reverts unless `start <= now < end`.
    function _checkWindow(uint256 roundId, uint64 start, uint64 end, bool application) internal view {
        if (block.timestamp < start || block.timestamp >= end) {
            if (application) revert ApplicationWindowClosed(roundId, uint64(block.timestamp), start, end);
            revert DonationWindowClosed(roundId, uint64(block.timestamp), start, end);
        }
    }

    /// @dev Checks a round's attestation settings.
    function _checkAttestationConfig(AttestationRegistry attestations, address[] calldata issuers) internal pure {
        uint256 n = issuers.length;
        bool registry = address(attestations) != address(0);
        if (registry != (n != 0) || n > MAX_ISSUERS) revert InvalidAttestationConfig(address(attestations), n);
        for (uint256 i; i < n; ++i) {
            if (issuers[i] == address(0)) revert InvalidAttestationConfig(address(attestations), n);
        }
    }

    /// @dev The identity `account` counts under in the round (see `donorKeyOf`).
    function _identityOf(uint256 roundId, Round storage round, address account) internal view returns (bytes32) {
        AttestationRegistry attestations = round.attestations;
        if (address(attestations) == address(0)) return bytes32(uint256(uint160(account)));
        address[] storage issuers = _issuers[roundId];
        for (uint256 i; i < issuers.length; ++i) {
            address issuer = issuers[i];
            bytes32 uid = attestations.uidOf(issuer, account);
            if (uid != bytes32(0)) return keccak256(abi.encode(issuer, uid));
        }
        return bytes32(0);
    }

    /// @dev Moves one contributor's total from `before` to `total` in `tally`, and returns the
    ///      round's total weight adjusted by the change in the project's weight.
    function _tally(Tally storage tally, uint256 roundWeight, uint256 before, uint256 total, uint256 donorCap)
        internal
        returns (uint256)
    {
        uint256 sqrtSum = tally.sqrtSum;
        uint256 counted = tally.counted;
        uint256 oldWeight = weightOf(sqrtSum, counted);
        uint256 countedBefore = donorCap == 0 ? before : Math.min(before, donorCap);
        uint256 countedNow = donorCap == 0 ? total : Math.min(total, donorCap);
        if (countedNow != countedBefore) {
            sqrtSum = sqrtSum - Math.sqrt(countedBefore * SCALE) + Math.sqrt(countedNow * SCALE);
            counted = counted + countedNow - countedBefore;
            if (sqrtSum > MAX_AMOUNT) revert AmountTooLarge(sqrtSum, MAX_AMOUNT);
            if (counted > MAX_AMOUNT) revert AmountTooLarge(counted, MAX_AMOUNT);
            // casting to 'uint128' is safe because both were checked against MAX_AMOUNT above
            // forge-lint: disable-next-line(unsafe-typecast)
            tally.sqrtSum = uint128(sqrtSum);
            // forge-lint: disable-next-line(unsafe-typecast)
            tally.counted = uint128(counted);
        }
        uint256 amount = uint256(tally.amount) + (total - before);
        if (amount > MAX_AMOUNT) revert AmountTooLarge(amount, MAX_AMOUNT);
        // casting to 'uint128' is safe because it was checked against MAX_AMOUNT above
        // forge-lint: disable-next-line(unsafe-typecast)
        tally.amount = uint128(amount);
        if (before == 0) ++tally.contributors;
        return roundWeight - oldWeight + weightOf(sqrtSum, counted);
    }

    /// @dev Splits the pool between donations and usage: `usageWeightBps` of it to usage, the rest
    ///      to donations, except that a side with no weight at all gives its part to the other.
    function _splitPool(uint256 pool, uint16 usageWeightBps, uint256 donationWeight, uint256 usageWeight)
        internal
        pure
        returns (uint256 donationPool, uint256 usagePool)
    {
        usagePool = Math.mulDiv(pool, usageWeightBps, BPS);
        if (usageWeight == 0) usagePool = 0;
        else if (donationWeight == 0) usagePool = pool;
        donationPool = pool - usagePool;
    }

    /// @dev One project's match in a finalized round: each part its pool's share in proportion to
    ///      weight, rounded down, and capped at `matchingCapBps` of that part's pool.
    function _matchOf(Round storage round, Project storage project)
        internal
        view
        returns (uint256 donationMatch, uint256 usageMatch)
    {
        uint16 capBps = round.matchingCapBps;
        donationMatch = _share(round.donationPool, round.donationWeight, project.donations, capBps);
        usageMatch = _share(round.usagePool, round.usageWeight, project.usage, capBps);
    }

    /// @dev `min(pool * weight / totalWeight, pool * capBps / BPS)`, rounded down; 0 without weight.
    function _share(uint256 pool, uint256 totalWeight, Tally storage tally, uint16 capBps)
        internal
        view
        returns (uint256 share)
    {
        if (totalWeight == 0 || pool == 0) return 0;
        uint256 weight = weightOf(tally.sqrtSum, tally.counted);
        if (weight == 0) return 0;
        share = Math.mulDiv(pool, weight, totalWeight);
        uint256 cap = Math.mulDiv(pool, capBps, BPS);
        if (share > cap) share = cap;
    }

    /// @dev Who may claim for a project now.
    function _recipientOf(Project storage project) internal view returns (address) {
        uint256 modelId = project.modelId;
        return modelId != 0 ? models.ownerOf(modelId) : project.recipient;
    }

    /// @dev What recording `channelId` for the round would count now, and the channel read.
    function _pendingUsage(uint256 roundId, Round storage round, PaymentChannels channels, bytes32 channelId)
        internal
        view
        returns (uint256 projectId, bytes32 payerKey, uint256 amount, PaymentChannels.Channel memory channel)
    {
        channel = channels.getChannel(channelId);
        if (channel.sender == address(0)) return (0, bytes32(0), 0, channel);
        projectId = _projectOfModel[roundId][channel.modelId];
        if (projectId == 0 || _projects[roundId][projectId].rejected) return (0, bytes32(0), 0, channel);
        uint256 seen = _usageSeen[channelId][channel.epoch];
        if (channel.redeemed <= seen) return (projectId, bytes32(0), 0, channel);
        payerKey = _identityOf(roundId, round, channel.sender);
        if (payerKey == bytes32(0)) return (projectId, bytes32(0), 0, channel);
        amount = channel.redeemed - seen;
    }

    /// @dev Counts one channel's pending usage for the round (see `recordUsage`); returns the
    ///      amount counted and the round's usage weight after it.
    function _recordChannel(
        uint256 roundId,
        Round storage round,
        PaymentChannels channels,
        bytes32 channelId,
        uint256 usageWeight
    ) internal returns (uint256 amount, uint256) {
        uint256 projectId;
        bytes32 payerKey;
        PaymentChannels.Channel memory channel;
        (projectId, payerKey, amount, channel) = _pendingUsage(roundId, round, channels, channelId);
        if (amount == 0) return (0, usageWeight);
        _usageSeen[channelId][channel.epoch] = channel.redeemed;
        usageWeight = _creditUsage(roundId, projectId, payerKey, amount, usageWeight, round.donorCap);
        emit UsageRecorded(roundId, projectId, channelId, channel.sender, payerKey, amount);
        return (amount, usageWeight);
    }

    /// @dev Adds `amount` to a payer's usage of a project; returns the round's usage weight after it.
    function _creditUsage(
        uint256 roundId,
        uint256 projectId,
        bytes32 payerKey,
        uint256 amount,
        uint256 usageWeight,
        uint256 donorCap
    ) internal returns (uint256) {
        mapping(bytes32 => uint256) storage totals = _usage[roundId][projectId];
        uint256 before = totals[payerKey];
        uint256 total = before + amount;
        if (total > MAX_AMOUNT) revert AmountTooLarge(total, MAX_AMOUNT);
        totals[payerKey] = total;
        return _tally(_projects[roundId][projectId].usage, usageWeight, before, total, donorCap);
    }

    /// @dev Withdraws the protocol fees PaymentChannels holds for this contract, by balance delta,
    ///      and credits them to the open protocol round or the reserve.
    function _collectProtocolFees(PaymentChannels channels) internal returns (uint256 received) {
        if (channels.earnings(address(this)) == 0) return 0;
        IERC20 feeToken = channels.token();
        uint256 before = feeToken.balanceOf(address(this));
        channels.withdrawEarnings(address(this));
        received = feeToken.balanceOf(address(this)) - before;
        uint256 roundId = _creditProtocol(received);
        emit ProtocolFeesCollected(roundId, received);
    }

    /// @dev Credits protocol money to the open protocol round's pool, or to the reserve when there
    ///      is none; returns the round credited (0 for the reserve).
    function _creditProtocol(uint256 amount) internal returns (uint256 roundId) {
        roundId = protocolRoundId;
        if (roundId != 0) {
            Round storage round = _rounds[roundId];
            if (!round.finalized) {
                _addToPool(roundId, round, address(this), amount);
                return roundId;
            }
        }
        reserve += amount;
        return 0;
    }

    /// @dev Sends a protocol-funded round's unallocated part back to the protocol.
    function _returnToProtocol(uint256 roundId, uint256 amount) internal {
        uint256 toRoundId = _creditProtocol(amount);
        emit UnallocatedReturned(roundId, toRoundId, amount);
    }

    /// @dev Adds to a round's pool; `funder` is who the event names.
    function _addToPool(uint256 roundId, Round storage round, address funder, uint256 amount) internal {
        uint256 pool = round.pool + amount;
        if (pool > MAX_AMOUNT) revert AmountTooLarge(pool, MAX_AMOUNT);
        round.pool = pool;
        emit PoolFunded(roundId, funder, amount, pool);
    }

    /// @dev Pulls `amount` of `token` from the caller and returns what actually arrived, so a token
    ///      that takes a fee on transfer is credited only what this contract holds.
    function _pull(IERC20 token, uint256 amount) internal returns (uint256 received) {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        received = token.balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
    }
}
