// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ModelRegistry} from "../ModelRegistry.sol";
import {PaymentChannels} from "../PaymentChannels.sol";
import {AttestationRegistry} from "../AttestationRegistry.sol";
import {Stewardship} from "./Stewardship.sol";
import {Tallies} from "./Tallies.sol";

/// @title FundingRounds
/// @notice The life of a quadratic-funding round: created by its operator with a token, an
///         application window, a donation window, a matching cap and optional donor cap,
///         attestation issuers and usage weight; projects apply (a model, or an address); donors
///         donate, each donation updating its project's `Tallies` at constant gas; anyone tops up
///         the pool; after donations close anyone finalizes, in one pass over the projects; each
///         project claims its donations and match; the operator withdraws what the matches left.
/// @dev Round and project ids count from 1. Protocol fees are `ProtocolFeeReserve`'s concern (it
///      implements the two protocol steps of `finalize`), usage counting `UsageRecording`'s; both
///      write the `Round` and `Project` kept here.
abstract contract FundingRounds is Stewardship, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- errors

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
        Tallies.Tally donations;
        Tallies.Tally usage;
    }

    /// @dev A project as stored, which `getProject` returns as a `Project`. Its `rejected` flag is
    ///      `donations.closed`, in the slot a donation reads anyway (the tally's amount and count),
    ///      so a donation touches two slots of its project instead of three; the recipient's slot
    ///      is left to applications and claims.
    /// @param recipient See `Project`.
    /// @param modelId See `Project`.
    /// @param claimed See `Project`.
    /// @param donations Its donations' sums; `closed` when the operator rejected the project.
    /// @param usage Its paid usage's sums (`closed` unused).
    struct ProjectRecord {
        address recipient;
        uint64 modelId;
        bool claimed;
        Tallies.Sums donations;
        Tallies.Sums usage;
    }

    /// @notice Square roots are taken of `amount * SCALE`, so that small amounts keep precision:
    ///         sqrt(1 base unit) is 1e9 units of weight.
    uint256 public constant SCALE = Tallies.SCALE;

    /// @notice The most projects a round holds, so finalization's one pass fits in a block.
    uint256 public constant MAX_PROJECTS = 1000;

    /// @notice The most attestation issuers a round names.
    uint256 public constant MAX_ISSUERS = 4;

    /// @notice The model registry model projects are checked against, and whose token owners claim.
    ModelRegistry public immutable models;

    /// @notice The number of rounds created, which is also the last id issued.
    uint256 public roundCount;

    /// @dev Rounds by id.
    mapping(uint256 roundId => Round) internal _rounds;

    /// @dev Attestation issuers by round.
    mapping(uint256 roundId => address[]) private _issuers;

    /// @dev Projects by round, then id.
    mapping(uint256 roundId => mapping(uint256 projectId => ProjectRecord)) internal _projects;

    /// @dev Project ids by round, then model (model projects).
    mapping(uint256 roundId => mapping(uint256 modelId => uint256 projectId)) internal _projectOfModel;

    /// @dev Project ids by round, then recipient (address projects).
    mapping(uint256 roundId => mapping(address recipient => uint256 projectId)) private _projectOfRecipient;

    /// @dev Each donor identity's total donation, by round and project.
    mapping(uint256 roundId => mapping(uint256 projectId => mapping(bytes32 donorKey => uint256))) private _donations;

    // ---------------------------------------------------------------- constructor

    /// @param models_ The model registry model projects are checked against.
    constructor(ModelRegistry models_) {
        models = models_;
    }

    // ---------------------------------------------------------------- external

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
        if (params.matchingCapBps == 0 || params.matchingCapBps > Tallies.BPS) {
            revert InvalidMatchingCap(params.matchingCapBps);
        }
        if (params.usageWeightBps > Tallies.BPS) revert InvalidUsageWeight(params.usageWeightBps);
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
        ProjectRecord storage project = _projects[roundId][projectId];
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
        ProjectRecord storage project = _project(roundId, round, projectId);
        if (project.donations.contributors != 0 || project.usage.contributors != 0) {
            revert ProjectHasContributions(roundId, projectId);
        }
        project.donations.closed = true;
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
        (Round storage round, ProjectRecord storage project, IERC20 token, bytes32 donorKey) =
            _donationTarget(roundId, projectId);
        received = _pull(token, amount);
        mapping(bytes32 => uint256) storage totals = _donations[roundId][projectId];
        uint256 before = totals[donorKey];
        uint256 total = before + received;
        if (total > Tallies.MAX_AMOUNT) revert Tallies.AmountTooLarge(total, Tallies.MAX_AMOUNT);
        totals[donorKey] = total;
        round.donationWeight = Tallies.update(project.donations, round.donationWeight, before, total, round.donorCap);

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
            Tallies.splitPool(pool, round.usageWeightBps, round.donationWeight, round.usageWeight);
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
        ProjectRecord storage project = _project(roundId, round, projectId);
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
        ProjectRecord storage project = _projectInRound(roundId, round, projectId);
        return Project({
            recipient: project.recipient,
            modelId: project.modelId,
            rejected: project.donations.closed,
            claimed: project.claimed,
            donations: Tallies.toTally(project.donations),
            usage: Tallies.toTally(project.usage)
        });
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

    /// @notice The matching weight of one side of a project: `(sqrtSum^2 / SCALE) - counted`, or 0
    ///         when that is negative (integer square roots round down, so one contributor can land
    ///         a unit below their amount).
    /// @param sqrtSum The sum of square roots.
    /// @param counted The sum of counted amounts.
    /// @return The weight.
    function weightOf(uint256 sqrtSum, uint256 counted) public pure returns (uint256) {
        return Tallies.weightOf(sqrtSum, counted);
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
        returns (ProjectRecord storage project)
    {
        project = _projectInRound(roundId, round, projectId);
        if (project.donations.closed) revert ProjectRejected(roundId, projectId);
    }

    /// @dev The project, rejected or not, reverting unless it is in the round.
    function _projectInRound(uint256 roundId, Round storage round, uint256 projectId)
        internal
        view
        returns (ProjectRecord storage)
    {
        if (projectId == 0 || projectId > round.projectCount) revert ProjectNotInRound(roundId, projectId);
        return _projects[roundId][projectId];
    }

    /// @dev What a donation by the caller to `projectId` of the round goes to, reverting as
    ///      `donate` documents (in this order: no round, window closed, no project, rejected, not
    ///      attested). The round's two first slots are read once here, together, rather than once
    ///      per check.
    function _donationTarget(uint256 roundId, uint256 projectId)
        internal
        view
        returns (Round storage round, ProjectRecord storage project, IERC20 token, bytes32 donorKey)
    {
        round = _rounds[roundId];
        token = round.token;
        uint64 start = round.donationStart;
        AttestationRegistry attestations = round.attestations;
        uint64 end = round.donationEnd;
        uint256 count = round.projectCount;
        if (address(token) == address(0)) revert RoundNotFound(roundId);
        _checkWindow(roundId, start, end, false);
        if (projectId == 0 || projectId > count) revert ProjectNotInRound(roundId, projectId);
        project = _projects[roundId][projectId];
        if (project.donations.closed) revert ProjectRejected(roundId, projectId);
        // The unattested case inline, as in `_identityOf`: a call to a helper for it costs 74 gas.
        donorKey = address(attestations) == address(0)
            ? bytes32(uint256(uint160(msg.sender)))
            : _attestedIdentity(roundId, attestations, msg.sender);
        if (donorKey == bytes32(0)) revert DonorNotAttested(roundId, msg.sender);
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
        return _attestedIdentity(roundId, attestations, account);
    }

    /// @dev The identity the first of the round's issuers to attest `account` gives it in
    ///      `attestations` (the round's registry, not zero), or zero when none does.
    function _attestedIdentity(uint256 roundId, AttestationRegistry attestations, address account)
        internal
        view
        returns (bytes32)
    {
        address[] storage issuers = _issuers[roundId];
        for (uint256 i; i < issuers.length; ++i) {
            address issuer = issuers[i];
            bytes32 uid = attestations.uidOf(issuer, account);
            if (uid != bytes32(0)) return keccak256(abi.encode(issuer, uid));
        }
        return bytes32(0);
    }

    /// @dev One project's match in a finalized round: each part its pool's share in proportion to
    ///      weight, rounded down, and capped at `matchingCapBps` of that part's pool.
    function _matchOf(Round storage round, ProjectRecord storage project)
        internal
        view
        returns (uint256 donationMatch, uint256 usageMatch)
    {
        uint16 capBps = round.matchingCapBps;
        donationMatch = Tallies.shareOf(round.donationPool, round.donationWeight, project.donations, capBps);
        usageMatch = Tallies.shareOf(round.usagePool, round.usageWeight, project.usage, capBps);
    }

    /// @dev Who may claim for a project now.
    function _recipientOf(ProjectRecord storage project) internal view returns (address) {
        // Both read before branching, so the optimizer loads their shared slot once.
        uint256 modelId = project.modelId;
        address recipient = project.recipient;
        return modelId != 0 ? models.ownerOf(modelId) : recipient;
    }

    /// @dev Adds to a round's pool; `funder` is who the event names.
    function _addToPool(uint256 roundId, Round storage round, address funder, uint256 amount) internal {
        uint256 pool = round.pool + amount;
        if (pool > Tallies.MAX_AMOUNT) revert Tallies.AmountTooLarge(pool, Tallies.MAX_AMOUNT);
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

    /// @dev Withdraws the protocol fees PaymentChannels (and X402Splitter, when wired) hold for this
    ///      contract into the protocol round's pool, or the reserve (see `ProtocolFeeReserve`);
    ///      returns the amount received.
    function _collectProtocolFees(PaymentChannels channels) internal virtual returns (uint256 received);

    /// @dev Sends a protocol-funded round's unallocated part back to the protocol (see `ProtocolFeeReserve`).
    function _returnToProtocol(uint256 roundId, uint256 amount) internal virtual;
}
