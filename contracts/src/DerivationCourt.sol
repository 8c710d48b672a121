// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ModelRegistry} from "./ModelRegistry.sol";
import {ServingVerification} from "./ServingVerification.sol";

/// @title DerivationCourt
/// @notice Disputes of undeclared derivatives. A model registered without naming the model it
///         plainly is (a quantisation, a re-upload, a light fine-tune of an older registered
///         model) pays that model nothing. The older model's owner opens a case here naming the
///         derivative, the relation and (implicitly) its own derivative terms, bonding `bond` and
///         paying `fee`. Three of ServingVerification's staked validators, drawn for the case, run
///         both models' weights off chain (a derivative's outputs agree closely with its parent's)
///         and vote by commit-reveal; two of three decide.
///
///         Derivative: ModelRegistry adds the parent to the derivative's lineage with the parent's
///         `minDerivativeShareBps` (as it stood when the case opened, cut to what fits under the
///         stack cap), so every royalty that flows from then on pays it; the claimant's bond comes
///         back. Not a derivative: the bond goes to the derivative's owner (what a groundless case
///         costs). Either way the fee is shared by the validators who voted with the quorum. No
///         quorum: bond and fee go back to the claimant. Payouts are credited to `earnings` and
///         withdrawn with `withdrawEarnings` (never pushed).
/// @dev Validators are ServingVerification's active set, read when a case opens; the draw is its
///      (prevrandao mixed with the case id, so a block proposer could bias a case it opens itself).
///      Unlike ServingVerification, this court holds none of their stake: a validator that votes
///      against the quorum or stays silent loses its share of the fee and a mark on its record
///      here (`validatorRecord`), not stake. The commitment is ServingVerification's,
///      `keccak256(abi.encode(caseId, derivative, salt, validator))`.
contract DerivationCourt is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    // ---------------------------------------------------------------- errors

    /// @notice A parameter that must be positive is zero.
    /// @param name Which one.
    error ZeroParameter(string name);

    /// @notice No model has this id.
    /// @param modelId The id.
    error ModelNotFound(uint256 modelId);

    /// @notice The claimed parent is not older than the derivative: a model can only derive from
    ///         one registered before it (which also rules out cycles).
    /// @param parentId The claimed parent.
    /// @param childId The claimed derivative.
    error ParentNotOlder(uint256 parentId, uint256 childId);

    /// @notice Only the claimed parent's owner may open a case for it.
    /// @param parentId The parent.
    /// @param caller The account that tried.
    error NotParentOwner(uint256 parentId, address caller);

    /// @notice The caller owns both models: there is nobody to dispute with.
    /// @param owner The owner of both.
    error SameOwner(address owner);

    /// @notice The relation code is not 1 (fine-tune) to 5 (adapter).
    /// @param relation The code given.
    error InvalidRelation(uint8 relation);

    /// @notice The parent asks no share of its derivatives (`setDerivativeTerms` first): a verdict
    ///         would add it to the lineage with nothing to pay.
    /// @param parentId The parent.
    error NoDerivativeTerms(uint256 parentId);

    /// @notice The derivative already names this parent.
    /// @param childId The derivative.
    /// @param parentId The parent.
    error AlreadyParent(uint256 childId, uint256 parentId);

    /// @notice A case between these two models is open already.
    /// @param caseId The open case.
    error CaseAlreadyOpen(bytes32 caseId);

    /// @notice Fewer validators than a case needs are staked, leaving out both owners.
    /// @param eligible How many are eligible.
    /// @param required How many a case draws.
    error NotEnoughValidators(uint256 eligible, uint256 required);

    /// @notice No case has this id.
    /// @param caseId The id.
    error CaseNotFound(bytes32 caseId);

    /// @notice The case has its verdict already.
    /// @param caseId The case.
    /// @param outcome Its outcome.
    error CaseAlreadyDecided(bytes32 caseId, uint8 outcome);

    /// @notice The caller is not one of the case's three validators.
    /// @param caseId The case.
    /// @param account The caller.
    error NotDrawn(bytes32 caseId, address account);

    /// @notice The commit phase is over.
    /// @param caseId The case.
    /// @param commitDeadline When it ended.
    error CommitClosed(bytes32 caseId, uint64 commitDeadline);

    /// @notice A commitment of zero (it would read as "no commitment").
    error ZeroCommitment();

    /// @notice This validator committed already.
    /// @param caseId The case.
    /// @param validator The validator.
    error AlreadyCommitted(bytes32 caseId, address validator);

    /// @notice Reveals open once every drawn validator committed or the commit phase ended.
    /// @param caseId The case.
    /// @param commitDeadline When the commit phase ends.
    error RevealNotOpen(bytes32 caseId, uint64 commitDeadline);

    /// @notice The reveal phase is over.
    /// @param caseId The case.
    /// @param revealDeadline When it ended.
    error RevealClosed(bytes32 caseId, uint64 revealDeadline);

    /// @notice This validator made no commitment to reveal.
    /// @param caseId The case.
    /// @param validator The validator.
    error NotCommitted(bytes32 caseId, address validator);

    /// @notice This validator revealed already.
    /// @param caseId The case.
    /// @param validator The validator.
    error AlreadyRevealed(bytes32 caseId, address validator);

    /// @notice The vote and salt do not hash to the commitment.
    /// @param caseId The case.
    /// @param validator The validator.
    error CommitmentMismatch(bytes32 caseId, address validator);

    /// @notice The case cannot be decided yet: some reveals are missing and the reveal phase is on.
    /// @param caseId The case.
    /// @param revealDeadline When it can be decided in any case.
    error NotDecidable(bytes32 caseId, uint64 revealDeadline);

    /// @notice There is nothing to withdraw.
    /// @param account The account.
    error NothingToWithdraw(address account);

    /// @notice Fewer tokens arrived than were asked for (a fee-on-transfer token).
    /// @param asked What was pulled.
    /// @param received What arrived.
    error ShortTransfer(uint256 asked, uint256 received);

    // ---------------------------------------------------------------- events

    /// @notice A case opened: the three validators drawn judge whether `childId` derives from `parentId`.
    /// @param caseId The case.
    /// @param childId The model claimed to be an undeclared derivative.
    /// @param parentId The model it is claimed to derive from.
    /// @param claimant The parent's owner, who opened the case and bonded.
    /// @param relation The relation claimed (1 fine-tune, 2 merge, 3 quantisation, 4 distillation, 5 adapter).
    /// @param shareBps The share the parent is added with on a derivative verdict (its derivative terms now).
    /// @param validators The validators drawn.
    /// @param childWeights The derivative's weights hash (what validators fetch).
    /// @param parentWeights The parent's weights hash.
    /// @param commitDeadline Commitments are accepted before this time.
    /// @param revealDeadline Reveals are accepted before this time.
    event DisputeOpened(
        bytes32 indexed caseId,
        uint256 indexed childId,
        uint256 indexed parentId,
        address claimant,
        uint8 relation,
        uint16 shareBps,
        address[3] validators,
        bytes32 childWeights,
        bytes32 parentWeights,
        uint64 commitDeadline,
        uint64 revealDeadline
    );

    /// @notice A drawn validator committed to its vote.
    /// @param caseId The case.
    /// @param validator The validator.
    event VoteCommitted(bytes32 indexed caseId, address indexed validator);

    /// @notice A drawn validator revealed its vote.
    /// @param caseId The case.
    /// @param validator The validator.
    /// @param derivative Its vote.
    event VoteRevealed(bytes32 indexed caseId, address indexed validator, bool derivative);

    /// @notice A case was decided.
    /// @param caseId The case.
    /// @param childId The derivative claimed.
    /// @param parentId The parent claimed.
    /// @param outcome 1 derivative, 2 not a derivative, 3 no quorum.
    /// @param shareBps The share added to the lineage (0 unless derivative).
    event DisputeDecided(bytes32 indexed caseId, uint256 indexed childId, uint256 indexed parentId, uint8 outcome, uint16 shareBps);

    /// @notice A derivative verdict whose parent the registry could not add (the derivative already
    ///         names the most parents a model may); the money is paid as for a derivative verdict.
    /// @param caseId The case.
    /// @param reason The registry's revert data.
    event ParentNotAdded(bytes32 indexed caseId, bytes reason);

    /// @notice Earnings were withdrawn.
    /// @param account Whose.
    /// @param to Where they went.
    /// @param amount The amount.
    event EarningsWithdrawn(address indexed account, address indexed to, uint256 amount);

    // ---------------------------------------------------------------- types and storage

    /// @notice The court's terms.
    /// @param bond What a claimant bonds per case: back on a derivative verdict, paid to the
    ///        derivative's owner on "not a derivative".
    /// @param fee What a claimant pays per case, shared by the validators of the quorum.
    /// @param commitPeriod Seconds after the case opens during which drawn validators commit.
    /// @param revealPeriod Seconds after the commit phase during which they reveal.
    struct Params {
        uint256 bond;
        uint256 fee;
        uint64 commitPeriod;
        uint64 revealPeriod;
    }

    /// @notice A case.
    /// @param claimant Who opened it (zero: no such case).
    /// @param commitDeadline Commitments are accepted before this time.
    /// @param childId The derivative claimed.
    /// @param parentId The parent claimed.
    /// @param revealDeadline Reveals are accepted before this time.
    /// @param relation The relation claimed.
    /// @param shareBps The share asked for (the parent's derivative terms when it opened).
    /// @param outcome 0 open, 1 derivative, 2 not a derivative, 3 no quorum.
    /// @param commits How many validators committed.
    /// @param reveals How many revealed.
    /// @param revealedMask Bit i: validator i revealed.
    /// @param derivativeMask Bit i: validator i revealed "derivative".
    /// @param bond The bond received.
    /// @param fee The fee received.
    /// @param validators The three drawn.
    /// @param commitments Their commitments (zero: none).
    struct Case {
        address claimant;
        uint64 commitDeadline;
        uint64 childId;
        uint64 parentId;
        uint64 revealDeadline;
        uint8 relation;
        uint16 shareBps;
        uint8 outcome;
        uint8 commits;
        uint8 reveals;
        uint8 revealedMask;
        uint8 derivativeMask;
        uint256 bond;
        uint256 fee;
        address[3] validators;
        bytes32[3] commitments;
    }

    /// @notice A validator's record in this court.
    struct ValidatorRecord {
        uint64 agreed;
        uint64 disagreed;
        uint64 missed;
    }

    /// @notice Outcome: the model derives from the parent (the parent is added to its lineage).
    uint8 public constant OUTCOME_DERIVATIVE = 1;
    /// @notice Outcome: the model does not derive from the parent.
    uint8 public constant OUTCOME_NOT_DERIVATIVE = 2;
    /// @notice Outcome: no two validators revealed the same vote.
    uint8 public constant OUTCOME_NO_QUORUM = 3;

    /// @notice Validators drawn per case.
    uint256 public constant VALIDATORS_PER_CASE = 3;
    /// @notice Matching reveals that decide a case.
    uint256 public constant QUORUM = 2;
    /// @notice The highest relation code (adapter), as ModelRegistry's.
    uint8 public constant MAX_RELATION = 5;

    /// @notice The registry whose lineages a verdict extends (it must name this court).
    ModelRegistry public immutable models;

    /// @notice Whose staked validators are drawn.
    ServingVerification public immutable verification;

    /// @notice The token bonds and fees are paid in (the validators' stake token).
    IERC20 public immutable token;

    /// @notice See `Params`.
    uint256 public immutable bond;
    /// @notice See `Params`.
    uint256 public immutable fee;
    /// @notice See `Params`.
    uint64 public immutable commitPeriod;
    /// @notice See `Params`.
    uint64 public immutable revealPeriod;

    /// @dev Cases by id.
    mapping(bytes32 caseId => Case) private _cases;

    /// @dev The open case of a (derivative, parent) pair, if any.
    mapping(uint256 childId => mapping(uint256 parentId => bytes32 caseId)) private _openCaseOf;

    /// @dev Records by validator.
    mapping(address validator => ValidatorRecord) private _records;

    /// @dev Credited, not yet withdrawn, by account.
    mapping(address account => uint256) private _earnings;

    /// @dev Cases opened so far: part of each case id, so a pair can be disputed again after a verdict.
    uint256 private _caseCount;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys the court; the registry's deployer then wires it with `ModelRegistry.setDerivationCourt`.
    /// @param models_ The model registry.
    /// @param verification_ ServingVerification: its active validators are drawn, its token is used.
    /// @param params The terms (see `Params`).
    constructor(ModelRegistry models_, ServingVerification verification_, Params memory params) {
        if (params.bond == 0) revert ZeroParameter("bond");
        if (params.commitPeriod == 0) revert ZeroParameter("commitPeriod");
        if (params.revealPeriod == 0) revert ZeroParameter("revealPeriod");
        models = models_;
        verification = verification_;
        token = verification_.token();
        bond = params.bond;
        fee = params.fee;
        commitPeriod = params.commitPeriod;
        revealPeriod = params.revealPeriod;
    }

    // ---------------------------------------------------------------- cases

    /// @notice Opens a case claiming that `childId` is an undeclared derivative of `parentId`,
    ///         pulling `bond + fee` from the caller (approve first). The caller must own the
    ///         parent's token, and the parent must ask a share of its derivatives.
    /// @param childId The model claimed to derive from the parent; registered after it.
    /// @param parentId The caller's model.
    /// @param relation 1 fine-tune, 2 merge, 3 quantisation, 4 distillation, 5 adapter.
    /// @return caseId The case.
    function open(uint256 childId, uint256 parentId, uint8 relation) external nonReentrant returns (bytes32 caseId) {
        ModelRegistry registry = models;
        if (!registry.exists(parentId)) revert ModelNotFound(parentId);
        if (!registry.exists(childId)) revert ModelNotFound(childId);
        if (parentId >= childId) revert ParentNotOlder(parentId, childId);
        if (relation == 0 || relation > MAX_RELATION) revert InvalidRelation(relation);
        if (registry.ownerOf(parentId) != msg.sender) revert NotParentOwner(parentId, msg.sender);
        address respondent = registry.ownerOf(childId);
        if (respondent == msg.sender) revert SameOwner(msg.sender);
        uint16 shareBps = registry.minDerivativeShareBps(parentId);
        if (shareBps == 0) revert NoDerivativeTerms(parentId);
        ModelRegistry.Parent[] memory parents = registry.parentsOf(childId);
        for (uint256 i; i < parents.length; ++i) {
            if (parents[i].modelId == parentId) revert AlreadyParent(childId, parentId);
        }
        bytes32 existing = _openCaseOf[childId][parentId];
        if (existing != bytes32(0)) revert CaseAlreadyOpen(existing);

        caseId = keccak256(abi.encode(block.chainid, address(this), childId, parentId, ++_caseCount));
        address[3] memory drawn = _draw(caseId, msg.sender, respondent);
        uint64 commitDeadline = uint64(block.timestamp) + commitPeriod;
        uint64 revealDeadline = commitDeadline + revealPeriod;
        Case storage c = _cases[caseId];
        c.claimant = msg.sender;
        c.commitDeadline = commitDeadline;
        // casting to 'uint64' is safe because model ids count registrations
        // forge-lint: disable-next-line(unsafe-typecast)
        c.childId = uint64(childId);
        // forge-lint: disable-next-line(unsafe-typecast)
        c.parentId = uint64(parentId);
        c.revealDeadline = revealDeadline;
        c.relation = relation;
        c.shareBps = shareBps;
        c.validators = drawn;
        c.bond = bond;
        c.fee = fee;
        _openCaseOf[childId][parentId] = caseId;
        _pull(bond + fee);
        _announce(caseId, c);
    }

    /// @notice Commits a drawn validator's vote: `keccak256(abi.encode(caseId, derivative, salt, msg.sender))`.
    /// @param caseId The case.
    /// @param commitment The commitment; not zero.
    function commitVote(bytes32 caseId, bytes32 commitment) external {
        Case storage c = _openCase(caseId);
        if (block.timestamp >= c.commitDeadline) revert CommitClosed(caseId, c.commitDeadline);
        if (commitment == bytes32(0)) revert ZeroCommitment();
        uint256 seat = _seat(c, caseId, msg.sender);
        if (c.commitments[seat] != bytes32(0)) revert AlreadyCommitted(caseId, msg.sender);
        c.commitments[seat] = commitment;
        ++c.commits;
        emit VoteCommitted(caseId, msg.sender);
    }

    /// @notice Reveals a committed vote. Reveals open once all three committed or the commit
    ///         phase ended, and close at the reveal deadline.
    /// @param caseId The case.
    /// @param derivative The vote.
    /// @param salt The salt committed with it.
    function revealVote(bytes32 caseId, bool derivative, bytes32 salt) external {
        Case storage c = _openCase(caseId);
        if (c.commits < VALIDATORS_PER_CASE && block.timestamp < c.commitDeadline) {
            revert RevealNotOpen(caseId, c.commitDeadline);
        }
        if (block.timestamp >= c.revealDeadline) revert RevealClosed(caseId, c.revealDeadline);
        uint256 seat = _seat(c, caseId, msg.sender);
        bytes32 commitment = c.commitments[seat];
        if (commitment == bytes32(0)) revert NotCommitted(caseId, msg.sender);
        // casting to 'uint8' is safe because a seat is 0, 1 or 2
        // forge-lint: disable-next-line(unsafe-typecast)
        uint8 bit = uint8(1 << seat);
        if ((c.revealedMask & bit) != 0) revert AlreadyRevealed(caseId, msg.sender);
        if (keccak256(abi.encode(caseId, derivative, salt, msg.sender)) != commitment) {
            revert CommitmentMismatch(caseId, msg.sender);
        }
        c.revealedMask |= bit;
        if (derivative) c.derivativeMask |= bit;
        ++c.reveals;
        emit VoteRevealed(caseId, msg.sender, derivative);
    }

    /// @notice Decides a case, once: anyone may call it when all three revealed, when the reveal
    ///         phase is over, or when the commit phase ended with fewer than two commitments.
    /// @param caseId The case.
    function finalize(bytes32 caseId) external nonReentrant {
        Case storage c = _openCase(caseId);
        bool decidable = c.reveals == VALIDATORS_PER_CASE || block.timestamp >= c.revealDeadline
            || (block.timestamp >= c.commitDeadline && c.commits < QUORUM);
        if (!decidable) revert NotDecidable(caseId, c.revealDeadline);

        uint256 derivativeVotes = _popcount(c.derivativeMask);
        uint256 otherVotes = c.reveals - derivativeVotes;
        uint8 outcome = derivativeVotes >= QUORUM
            ? OUTCOME_DERIVATIVE
            : otherVotes >= QUORUM ? OUTCOME_NOT_DERIVATIVE : OUTCOME_NO_QUORUM;
        c.outcome = outcome;
        uint256 childId = c.childId;
        uint256 parentId = c.parentId;
        delete _openCaseOf[childId][parentId];

        uint16 added = outcome == OUTCOME_DERIVATIVE ? _addParent(c, caseId) : 0;
        _pay(c, outcome);
        emit DisputeDecided(caseId, childId, parentId, outcome, added);
    }

    /// @notice Pays the caller's earnings to `to`.
    /// @param to Where to send them.
    /// @return amount The amount paid.
    function withdrawEarnings(address to) external nonReentrant returns (uint256 amount) {
        amount = _earnings[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _earnings[msg.sender] = 0;
        token.safeTransfer(to, amount);
        emit EarningsWithdrawn(msg.sender, to, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice A case (all zero when there is none).
    /// @param caseId The case.
    /// @return The case.
    function getCase(bytes32 caseId) external view returns (Case memory) {
        return _cases[caseId];
    }

    /// @notice The open case between a derivative and a parent (zero when none is open).
    /// @param childId The derivative claimed.
    /// @param parentId The parent claimed.
    /// @return The case id.
    function openCaseOf(uint256 childId, uint256 parentId) external view returns (bytes32) {
        return _openCaseOf[childId][parentId];
    }

    /// @notice Earnings credited to an account and not yet withdrawn.
    /// @param account The account.
    /// @return The amount, in token base units.
    function earnings(address account) external view returns (uint256) {
        return _earnings[account];
    }

    /// @notice How a validator voted in this court's decided cases.
    /// @param validator The validator.
    /// @return The record.
    function validatorRecord(address validator) external view returns (ValidatorRecord memory) {
        return _records[validator];
    }

    // ---------------------------------------------------------------- internal

    /// @dev Emits `DisputeOpened` for a case just stored (apart from `open` to keep its stack small).
    function _announce(bytes32 caseId, Case storage c) internal {
        uint256 childId = c.childId;
        uint256 parentId = c.parentId;
        emit DisputeOpened(
            caseId,
            childId,
            parentId,
            c.claimant,
            c.relation,
            c.shareBps,
            c.validators,
            models.getModel(childId).weightsHash,
            models.getModel(parentId).weightsHash,
            c.commitDeadline,
            c.revealDeadline
        );
    }

    /// @dev Draws three distinct active validators of ServingVerification other than the two
    ///      owners: a partial Fisher-Yates shuffle seeded by prevrandao and the case id.
    function _draw(bytes32 caseId, address claimant, address respondent) internal view returns (address[3] memory drawn) {
        address[] memory candidates = verification.validators();
        uint256 eligible;
        for (uint256 i; i < candidates.length; ++i) {
            address v = candidates[i];
            if (v != claimant && v != respondent) candidates[eligible++] = v;
        }
        if (eligible < VALIDATORS_PER_CASE) revert NotEnoughValidators(eligible, VALIDATORS_PER_CASE);
        bytes32 seed = keccak256(abi.encode(block.prevrandao, caseId));
        for (uint256 k; k < VALIDATORS_PER_CASE; ++k) {
            uint256 j = k + uint256(keccak256(abi.encode(seed, k))) % (eligible - k);
            (candidates[k], candidates[j]) = (candidates[j], candidates[k]);
            drawn[k] = candidates[k];
        }
    }

    /// @dev Asks the registry to add the parent of a derivative verdict; a refusal (the derivative
    ///      names the most parents a model may) is recorded, not fatal, so the case still closes.
    function _addParent(Case storage c, bytes32 caseId) internal returns (uint16 added) {
        try models.addRuledParent(c.childId, c.parentId, c.relation, c.shareBps, caseId) returns (uint16 share) {
            added = share;
        } catch (bytes memory reason) {
            emit ParentNotAdded(caseId, reason);
        }
    }

    /// @dev Credits a decided case's bond and fee: the bond to the claimant (derivative, no quorum)
    ///      or the derivative's owner (not a derivative); the fee to the quorum, or back to the
    ///      claimant without one. Exactly `bond + fee` is credited.
    function _pay(Case storage c, uint8 outcome) internal {
        (address[3] memory majority, uint256 majorityCount) = _judgeValidators(c, outcome);
        if (outcome == OUTCOME_DERIVATIVE) {
            _earnings[c.claimant] += c.bond;
        } else if (outcome == OUTCOME_NOT_DERIVATIVE) {
            _earnings[models.ownerOf(c.childId)] += c.bond;
        } else {
            _earnings[c.claimant] += c.bond + c.fee;
            return;
        }
        uint256 fee_ = c.fee;
        if (fee_ == 0) return;
        uint256 each = fee_ / majorityCount;
        for (uint256 i; i < majorityCount; ++i) {
            _earnings[majority[i]] += each;
        }
        _earnings[majority[0]] += fee_ - each * majorityCount; // rounding dust, never stranded
    }

    /// @dev Updates each drawn validator's record and returns the quorum's members.
    function _judgeValidators(Case storage c, uint8 outcome)
        internal
        returns (address[3] memory majority, uint256 majorityCount)
    {
        bool derivativeWon = outcome == OUTCOME_DERIVATIVE;
        for (uint256 i; i < VALIDATORS_PER_CASE; ++i) {
            address account = c.validators[i];
            ValidatorRecord storage record = _records[account];
            // casting to 'uint8' is safe because a seat is 0, 1 or 2
            // forge-lint: disable-next-line(unsafe-typecast)
            uint8 bit = uint8(1 << i);
            if ((c.revealedMask & bit) == 0) {
                // One that committed but was decided out before the reveal deadline had no chance to reveal.
                if (c.commitments[i] == bytes32(0) || block.timestamp >= c.revealDeadline) ++record.missed;
            } else if (outcome != OUTCOME_NO_QUORUM) {
                if (((c.derivativeMask & bit) != 0) == derivativeWon) {
                    ++record.agreed;
                    majority[majorityCount++] = account;
                } else {
                    ++record.disagreed;
                }
            }
        }
    }

    /// @dev The seat (0, 1 or 2) of `account` in a case, reverting with `NotDrawn` when it has none.
    function _seat(Case storage c, bytes32 caseId, address account) internal view returns (uint256) {
        for (uint256 i; i < VALIDATORS_PER_CASE; ++i) {
            if (c.validators[i] == account) return i;
        }
        revert NotDrawn(caseId, account);
    }

    /// @dev The case, reverting unless it exists and is undecided.
    function _openCase(bytes32 caseId) internal view returns (Case storage c) {
        c = _cases[caseId];
        if (c.claimant == address(0)) revert CaseNotFound(caseId);
        if (c.outcome != 0) revert CaseAlreadyDecided(caseId, c.outcome);
    }

    /// @dev Bits set in a 3-bit mask.
    function _popcount(uint8 mask) internal pure returns (uint256) {
        return (mask & 1) + ((mask >> 1) & 1) + ((mask >> 2) & 1);
    }

    /// @dev Pulls exactly `amount` from the caller (a fee-on-transfer token is refused: the
    ///      payouts are of the amounts asked).
    function _pull(uint256 amount) internal {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert ShortTransfer(amount, received);
    }
}
