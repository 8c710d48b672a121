// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {PaymentChannels} from "./PaymentChannels.sol";
import {ProviderRegistry} from "./ProviderRegistry.sol";
import {IProtocolFeeSource} from "./funding/IProtocolFeeSource.sol";

/// @title ServingVerification
/// @notice Verified serving without special hardware. A provider signs a receipt (PaymentChannels'
///         EIP-712 `Receipt`) for every request it serves, binding the weights hash, token counts
///         and sha256 of the exact request and response. Whoever holds the plaintext (the gateway
///         that sent a challenge) can `report` it with a bond; three staked validators drawn for
///         the case re-run it on the hash-verified weights off chain and vote by commit-reveal, so
///         nobody can copy another's vote; two of three decide. On fraud the provider's stake is
///         slashed (active stake first, then unbonding stake, which stays slashable until it
///         leaves), split between the reporter, the validators who voted with the quorum and the
///         quadratic-funding pool, and the provider is suspended (no new channels). On an honest
///         verdict the reporter's bond pays the provider and the validators, which bounds
///         griefing. Validators who vote against the quorum or fail to reveal lose reputation and
///         a share of their stake to the majority, so voting without running the model does not pay.
///
///         Payouts are credited to `earnings` and withdrawn with `withdrawEarnings` (never pushed),
///         so no recipient can block a verdict. The funding pool's share is collected by
///         QuadraticFunding through the same `IProtocolFeeSource` path as protocol fees.
/// @dev The case id is the receipt's EIP-712 digest, so one piece of evidence makes at most one
///      case, ever. The evidence itself (receipt, signature, plaintext) is emitted in
///      `EvidenceSubmitted`, so validators read it with eth_getLogs whatever contract or wallet
///      sent the report. Validators are drawn from `block.prevrandao` mixed with the case id: the
///      block proposer could bias the draw of a case it reports itself, a known limit accepted for
///      a devnet and small networks (a VRF can replace the seed behind the same interface). The
///      draw reads the whole active validator set (O(validators) gas), fine for hundreds.
///      One token throughout: the providers' stake token, which must also be PaymentChannels'
///      token so the funding share can reach the protocol round.
contract ServingVerification is IProtocolFeeSource, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using EnumerableSet for EnumerableSet.AddressSet;

    // ---------------------------------------------------------------- errors

    /// @notice The providers' stake token is not PaymentChannels' token, so slashed stake could
    ///         not fund the protocol round.
    /// @param stakeToken The providers' stake token.
    /// @param paymentToken PaymentChannels' token.
    error TokenMismatch(address stakeToken, address paymentToken);

    /// @notice A basis-point parameter is above 10,000, or the reporter and validator shares add up above it.
    /// @param bps The offending value.
    error BpsTooHigh(uint256 bps);

    /// @notice A parameter that must be positive is zero.
    /// @param name Which one.
    error ZeroParameter(string name);

    /// @notice An amount of zero was given, or zero tokens arrived.
    error ZeroAmount();

    /// @notice The stake is below the validator minimum.
    /// @param stake The stake offered (or received).
    /// @param minimum The minimum.
    error StakeBelowMinimum(uint256 stake, uint256 minimum);

    /// @notice This account is already a registered validator.
    /// @param validator The account.
    error ValidatorAlreadyRegistered(address validator);

    /// @notice This account is not a registered validator.
    /// @param account The account.
    error ValidatorNotRegistered(address account);

    /// @notice This account is not an active (staked) validator.
    /// @param account The account.
    error NotValidator(address account);

    /// @notice More stake was asked for than is staked.
    /// @param stake The stake.
    /// @param requested The amount asked for.
    error InsufficientStake(uint256 stake, uint256 requested);

    /// @notice The validator unstaking delay has not passed yet.
    /// @param readyAt When the stake can be withdrawn.
    /// @param now The current block timestamp.
    error UnstakeNotReady(uint64 readyAt, uint64 now);

    /// @notice The validator is drawn in an open case: its stake answers for its vote until the verdict.
    /// @param validator The validator.
    /// @param openCases How many of its cases are open.
    error ValidatorFrozen(address validator, uint32 openCases);

    /// @notice There is nothing to withdraw.
    /// @param account The account.
    error NothingToWithdraw(address account);

    /// @notice The reported provider never registered.
    /// @param provider The account.
    error ProviderNotRegistered(address provider);

    /// @notice The signature over the receipt is not the provider's.
    /// @param provider The provider named.
    /// @param recovered The signer recovered (zero when the signature is malformed).
    error InvalidSignature(address provider, address recovered);

    /// @notice The request given does not hash (sha256) to the receipt's `requestHash`.
    /// @param expected The receipt's hash.
    /// @param actual The hash of the bytes given.
    error RequestHashMismatch(bytes32 expected, bytes32 actual);

    /// @notice The response given does not hash (sha256) to the receipt's `responseHash`.
    /// @param expected The receipt's hash.
    /// @param actual The hash of the bytes given.
    error ResponseHashMismatch(bytes32 expected, bytes32 actual);

    /// @notice A case for this receipt already exists (the same evidence never makes two cases).
    /// @param caseId The case (the receipt's EIP-712 digest).
    error CaseExists(bytes32 caseId);

    /// @notice Fewer validators than a case needs are staked, leaving out the provider and the reporter.
    /// @param eligible How many are eligible.
    /// @param required How many a case draws.
    error NotEnoughValidators(uint256 eligible, uint256 required);

    /// @notice No case has this id.
    /// @param caseId The id.
    error CaseNotFound(bytes32 caseId);

    /// @notice The case has its verdict already (no verdict twice).
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

    /// @notice A provider cannot attest passes for itself.
    /// @param provider The account.
    error SelfAttestation(address provider);

    // ---------------------------------------------------------------- events

    /// @notice A validator registered.
    /// @param validator The validator.
    /// @param stake The stake received.
    event ValidatorRegistered(address indexed validator, uint256 stake);

    /// @notice A validator added stake.
    /// @param validator The validator.
    /// @param amount The amount received.
    /// @param stake Its stake now.
    event ValidatorStakeAdded(address indexed validator, uint256 amount, uint256 stake);

    /// @notice A validator set the HTTP endpoint gateways ask it at (`POST /gotong/validate`).
    /// @param validator The validator.
    /// @param endpoint The endpoint.
    event ValidatorEndpointSet(address indexed validator, string endpoint);

    /// @notice A validator asked to unstake.
    /// @param validator The validator.
    /// @param amount The amount moved to unstaking.
    /// @param unstaking Its total unstaking now.
    /// @param readyAt When it can be withdrawn.
    event ValidatorUnstakeRequested(address indexed validator, uint256 amount, uint256 unstaking, uint64 readyAt);

    /// @notice A validator withdrew its unstaked tokens.
    /// @param validator The validator.
    /// @param amount The amount paid.
    event ValidatorStakeWithdrawn(address indexed validator, uint256 amount);

    /// @notice A validator lost stake for voting against the quorum or not revealing.
    /// @param caseId The case.
    /// @param validator The validator.
    /// @param amount The amount taken.
    event ValidatorPenalised(bytes32 indexed caseId, address indexed validator, uint256 amount);

    /// @notice A case opened: the three validators drawn re-run the evidence and vote.
    /// @param caseId The case (the receipt's EIP-712 digest).
    /// @param provider The provider reported.
    /// @param reporter Who reported it (and bonded).
    /// @param validators The validators drawn.
    /// @param weightsHash The weights the receipt says served the request.
    /// @param commitDeadline Commitments are accepted before this time.
    /// @param revealDeadline Reveals are accepted before this time.
    event CaseOpened(
        bytes32 indexed caseId,
        address indexed provider,
        address indexed reporter,
        address[3] validators,
        bytes32 weightsHash,
        uint64 commitDeadline,
        uint64 revealDeadline
    );

    /// @notice The evidence of a case, for validators to read from the logs.
    /// @param caseId The case.
    /// @param receipt The receipt.
    /// @param signature The provider's signature over it.
    /// @param request The exact request body bytes.
    /// @param response The response text bytes.
    event EvidenceSubmitted(bytes32 indexed caseId, ReceiptData receipt, bytes signature, bytes request, bytes response);

    /// @notice A drawn validator committed to its vote.
    /// @param caseId The case.
    /// @param validator The validator.
    event VoteCommitted(bytes32 indexed caseId, address indexed validator);

    /// @notice A drawn validator revealed its vote.
    /// @param caseId The case.
    /// @param validator The validator.
    /// @param fraud Its vote.
    event VoteRevealed(bytes32 indexed caseId, address indexed validator, bool fraud);

    /// @notice A case was decided.
    /// @param caseId The case.
    /// @param provider The provider.
    /// @param outcome 1 fraud, 2 honest, 3 no quorum.
    /// @param slashed The provider stake slashed (0 unless fraud).
    event Verdict(bytes32 indexed caseId, address indexed provider, uint8 outcome, uint256 slashed);

    /// @notice A validator recorded challenges of a provider it checked and found honest.
    /// @param validator The validator.
    /// @param provider The provider.
    /// @param count How many.
    event PassesAttested(address indexed validator, address indexed provider, uint64 count);

    /// @notice Earnings were withdrawn.
    /// @param account Whose.
    /// @param to Where they went.
    /// @param amount The amount.
    event EarningsWithdrawn(address indexed account, address indexed to, uint256 amount);

    // ---------------------------------------------------------------- types and storage

    /// @notice The fields of PaymentChannels' EIP-712 `Receipt`, in its order.
    struct ReceiptData {
        bytes32 requestId;
        bytes32 channelId;
        bytes32 weightsHash;
        uint64 inputTokens;
        uint64 outputTokens;
        uint256 cost;
        uint256 cumulativeOwed;
        bytes32 requestHash;
        bytes32 responseHash;
    }

    /// @notice The deployment's terms.
    /// @param minValidatorStake The stake a validator needs to be drawn and to attest.
    /// @param validatorUnstakeDelay Seconds between `requestValidatorUnstake` and `withdrawValidatorStake`.
    /// @param reportBond What a reporter bonds per case, lost to the provider and validators on an honest verdict.
    /// @param commitPeriod Seconds after a report during which drawn validators commit.
    /// @param revealPeriod Seconds after the commit phase during which they reveal.
    /// @param slashBps Share of the provider's slashable stake taken on fraud (10,000: all of it).
    /// @param reporterBps Share of the slash paid to the reporter (besides its bond back).
    /// @param validatorBps Share of the slash paid to the validators of the quorum; the rest funds quadratic funding.
    /// @param validatorPenaltyBps Share of a validator's stake taken when it votes against the quorum or fails to reveal.
    /// @param honestProviderBps Share of a lost bond paid to the provider wrongly reported; the rest to the quorum.
    struct Params {
        uint256 minValidatorStake;
        uint64 validatorUnstakeDelay;
        uint256 reportBond;
        uint64 commitPeriod;
        uint64 revealPeriod;
        uint16 slashBps;
        uint16 reporterBps;
        uint16 validatorBps;
        uint16 validatorPenaltyBps;
        uint16 honestProviderBps;
    }

    /// @notice A validator's registration and record.
    /// @param registered Whether the account ever registered.
    /// @param openCases How many undecided cases it is drawn in (its stake cannot leave meanwhile).
    /// @param unstakeReadyAt When `unstaking` can be withdrawn.
    /// @param agreed Votes with the quorum.
    /// @param disagreed Votes against the quorum.
    /// @param missed Cases it was drawn in and did not reveal a vote for.
    /// @param stake The active stake.
    /// @param unstaking Stake on its way out (still penalisable).
    struct Validator {
        bool registered;
        uint32 openCases;
        uint64 unstakeReadyAt;
        uint64 agreed;
        uint64 disagreed;
        uint64 missed;
        uint256 stake;
        uint256 unstaking;
    }

    /// @notice A case.
    /// @param provider The provider reported (zero: no such case).
    /// @param commitDeadline Commitments are accepted before this time.
    /// @param reporter Who reported.
    /// @param revealDeadline Reveals are accepted before this time.
    /// @param outcome 0 open, 1 fraud, 2 honest, 3 no quorum.
    /// @param commits How many validators committed.
    /// @param reveals How many revealed.
    /// @param revealedMask Bit i: validator i revealed.
    /// @param fraudMask Bit i: validator i revealed "fraud".
    /// @param bond The bond received from the reporter.
    /// @param validators The three drawn.
    /// @param commitments Their commitments (zero: none).
    struct Case {
        address provider;
        uint64 commitDeadline;
        address reporter;
        uint64 revealDeadline;
        uint8 outcome;
        uint8 commits;
        uint8 reveals;
        uint8 revealedMask;
        uint8 fraudMask;
        uint256 bond;
        address[3] validators;
        bytes32[3] commitments;
    }

    /// @notice A provider's record.
    struct ProviderRecord {
        uint64 challengesPassed;
        uint64 challengesFailed;
        uint256 slashedAmount;
        bool suspended;
    }

    /// @notice Outcome of a case with a fraud quorum.
    uint8 public constant OUTCOME_FRAUD = 1;
    /// @notice Outcome of a case with an honest quorum.
    uint8 public constant OUTCOME_HONEST = 2;
    /// @notice Outcome of a case where no two validators revealed the same vote.
    uint8 public constant OUTCOME_NO_QUORUM = 3;

    /// @notice Validators drawn per case.
    uint256 public constant VALIDATORS_PER_CASE = 3;
    /// @notice Matching reveals that decide a case.
    uint256 public constant QUORUM = 2;

    uint256 internal constant BPS = 10_000;

    /// @notice PaymentChannels' `RECEIPT_TYPEHASH`, read from it at deployment.
    bytes32 public immutable RECEIPT_TYPEHASH;

    /// @notice The channels contract whose EIP-712 domain receipts are signed in.
    PaymentChannels public immutable channels;

    /// @notice The provider registry stake is slashed from.
    ProviderRegistry public immutable providers;

    /// @inheritdoc IProtocolFeeSource
    IERC20 public immutable token;

    /// @inheritdoc IProtocolFeeSource
    address public immutable fundingPool;

    /// @notice See `Params`.
    uint256 public immutable minValidatorStake;
    /// @notice See `Params`.
    uint64 public immutable validatorUnstakeDelay;
    /// @notice See `Params`.
    uint256 public immutable reportBond;
    /// @notice See `Params`.
    uint64 public immutable commitPeriod;
    /// @notice See `Params`.
    uint64 public immutable revealPeriod;
    /// @notice See `Params`.
    uint16 public immutable slashBps;
    /// @notice See `Params`.
    uint16 public immutable reporterBps;
    /// @notice See `Params`.
    uint16 public immutable validatorBps;
    /// @notice See `Params`.
    uint16 public immutable validatorPenaltyBps;
    /// @notice See `Params`.
    uint16 public immutable honestProviderBps;

    /// @dev Validators by account.
    mapping(address validator => Validator) private _validators;

    /// @dev Validator endpoints by account.
    mapping(address validator => string) private _endpoints;

    /// @dev Validators staked at least `minValidatorStake`: the ones drawn.
    EnumerableSet.AddressSet private _active;

    /// @dev Cases by id.
    mapping(bytes32 caseId => Case) private _cases;

    /// @dev Provider records.
    mapping(address provider => ProviderRecord) private _records;

    /// @dev Credited, not yet withdrawn, by account.
    mapping(address account => uint256) private _earnings;

    // ---------------------------------------------------------------- constructor

    /// @notice Deploys the verifier; the registry's deployer then wires it with `ProviderRegistry.setVerifier`
    ///         and QuadraticFunding's with `setServingVerification`.
    /// @param channels_ PaymentChannels: its domain and `RECEIPT_TYPEHASH` define the receipt, its
    ///        funding pool receives the funding share.
    /// @param providers_ The provider registry; its stake token must be `channels_`' token.
    /// @param params The terms (see `Params`).
    constructor(PaymentChannels channels_, ProviderRegistry providers_, Params memory params) {
        address stakeToken = address(providers_.stakeToken());
        address paymentToken = address(channels_.token());
        if (stakeToken != paymentToken) revert TokenMismatch(stakeToken, paymentToken);
        if (params.minValidatorStake == 0) revert ZeroParameter("minValidatorStake");
        if (params.reportBond == 0) revert ZeroParameter("reportBond");
        if (params.commitPeriod == 0) revert ZeroParameter("commitPeriod");
        if (params.revealPeriod == 0) revert ZeroParameter("revealPeriod");
        if (params.slashBps == 0) revert ZeroParameter("slashBps");
        if (params.slashBps > BPS) revert BpsTooHigh(params.slashBps);
        if (uint256(params.reporterBps) + params.validatorBps > BPS) {
            revert BpsTooHigh(uint256(params.reporterBps) + params.validatorBps);
        }
        if (params.validatorPenaltyBps > BPS) revert BpsTooHigh(params.validatorPenaltyBps);
        if (params.honestProviderBps > BPS) revert BpsTooHigh(params.honestProviderBps);
        RECEIPT_TYPEHASH = channels_.RECEIPT_TYPEHASH();
        channels = channels_;
        providers = providers_;
        token = IERC20(stakeToken);
        fundingPool = channels_.fundingPool();
        minValidatorStake = params.minValidatorStake;
        validatorUnstakeDelay = params.validatorUnstakeDelay;
        reportBond = params.reportBond;
        commitPeriod = params.commitPeriod;
        revealPeriod = params.revealPeriod;
        slashBps = params.slashBps;
        reporterBps = params.reporterBps;
        validatorBps = params.validatorBps;
        validatorPenaltyBps = params.validatorPenaltyBps;
        honestProviderBps = params.honestProviderBps;
    }

    // ---------------------------------------------------------------- validators

    /// @notice Registers the caller as a validator, pulling its stake (approve first).
    /// @param stake The stake; what arrives must be at least `minValidatorStake`.
    function registerValidator(uint256 stake) external nonReentrant {
        Validator storage v = _validators[msg.sender];
        if (v.registered) revert ValidatorAlreadyRegistered(msg.sender);
        if (stake < minValidatorStake) revert StakeBelowMinimum(stake, minValidatorStake);
        uint256 received = _pull(stake);
        if (received < minValidatorStake) revert StakeBelowMinimum(received, minValidatorStake);
        v.registered = true;
        v.stake = received;
        _active.add(msg.sender);
        emit ValidatorRegistered(msg.sender, received);
    }

    /// @notice Adds to the caller's validator stake (approve first); back at the minimum, it is drawn again.
    /// @param amount The amount to pull.
    function addValidatorStake(uint256 amount) external nonReentrant {
        Validator storage v = _registeredValidator(msg.sender);
        if (amount == 0) revert ZeroAmount();
        uint256 received = _pull(amount);
        v.stake += received;
        if (v.stake >= minValidatorStake) _active.add(msg.sender);
        emit ValidatorStakeAdded(msg.sender, received, v.stake);
    }

    /// @notice Sets the HTTP endpoint gateways reach the caller at to ask for a verdict before they bond.
    /// @param endpoint The URL.
    function setValidatorEndpoint(string calldata endpoint) external {
        _registeredValidator(msg.sender);
        _endpoints[msg.sender] = endpoint;
        emit ValidatorEndpointSet(msg.sender, endpoint);
    }

    /// @notice Moves `amount` of the caller's stake to unstaking, withdrawable after
    ///         `validatorUnstakeDelay` (a new request restarts the delay for all of it). Below the
    ///         minimum the validator is no longer drawn; cases it is in still judge it.
    /// @param amount The amount; at most the stake.
    function requestValidatorUnstake(uint256 amount) external {
        Validator storage v = _registeredValidator(msg.sender);
        if (amount == 0) revert ZeroAmount();
        if (amount > v.stake) revert InsufficientStake(v.stake, amount);
        v.stake -= amount;
        v.unstaking += amount;
        uint64 readyAt = uint64(block.timestamp) + validatorUnstakeDelay;
        v.unstakeReadyAt = readyAt;
        if (v.stake < minValidatorStake) _active.remove(msg.sender);
        emit ValidatorUnstakeRequested(msg.sender, amount, v.unstaking, readyAt);
    }

    /// @notice Pays the caller its unstaked tokens once the delay passed and no case it is drawn in is open.
    function withdrawValidatorStake() external nonReentrant {
        Validator storage v = _registeredValidator(msg.sender);
        uint256 amount = v.unstaking;
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        if (v.openCases != 0) revert ValidatorFrozen(msg.sender, v.openCases);
        if (block.timestamp < v.unstakeReadyAt) revert UnstakeNotReady(v.unstakeReadyAt, uint64(block.timestamp));
        v.unstaking = 0;
        v.unstakeReadyAt = 0;
        token.safeTransfer(msg.sender, amount);
        emit ValidatorStakeWithdrawn(msg.sender, amount);
    }

    // ---------------------------------------------------------------- cases

    /// @notice Reports a provider's receipt as evidence of fraud, pulling `reportBond` from the
    ///         caller (approve first), and draws the three validators who judge it.
    /// @param provider The provider that signed the receipt; must be registered.
    /// @param receipt The receipt.
    /// @param signature The provider's 65-byte ECDSA signature over it in PaymentChannels' domain.
    /// @param request The exact request body bytes; sha256 must equal `receipt.requestHash`.
    /// @param response The response text bytes; sha256 must equal `receipt.responseHash`.
    /// @return caseId The case: the receipt's EIP-712 digest.
    function report(
        address provider,
        ReceiptData calldata receipt,
        bytes calldata signature,
        bytes calldata request,
        bytes calldata response
    ) external nonReentrant returns (bytes32 caseId) {
        caseId = receiptDigest(receipt);
        Case storage c = _cases[caseId];
        if (c.provider != address(0)) revert CaseExists(caseId);
        if (!providers.isRegistered(provider)) revert ProviderNotRegistered(provider);
        (address recovered,,) = ECDSA.tryRecoverCalldata(caseId, signature);
        if (recovered != provider) revert InvalidSignature(provider, recovered);
        bytes32 requestHash = sha256(request);
        if (requestHash != receipt.requestHash) revert RequestHashMismatch(receipt.requestHash, requestHash);
        bytes32 responseHash = sha256(response);
        if (responseHash != receipt.responseHash) revert ResponseHashMismatch(receipt.responseHash, responseHash);

        _open(c, caseId, provider, receipt.weightsHash);
        emit EvidenceSubmitted(caseId, receipt, signature, request, response);
    }

    /// @notice Commits a drawn validator's vote: `keccak256(abi.encode(caseId, fraud, salt, msg.sender))`.
    ///         The address in the hash stops a validator from replaying another's commitment.
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

    /// @notice Reveals a committed vote. Reveals open once all three committed (nobody is left to
    ///         copy from) or the commit phase ended, and close at the reveal deadline.
    /// @param caseId The case.
    /// @param fraud The vote.
    /// @param salt The salt committed with it.
    function revealVote(bytes32 caseId, bool fraud, bytes32 salt) external {
        Case storage c = _openCase(caseId);
        if (c.commits < VALIDATORS_PER_CASE && block.timestamp < c.commitDeadline) {
            revert RevealNotOpen(caseId, c.commitDeadline);
        }
        if (block.timestamp >= c.revealDeadline) revert RevealClosed(caseId, c.revealDeadline);
        uint256 seat = _seat(c, caseId, msg.sender);
        bytes32 commitment = c.commitments[seat];
        if (commitment == bytes32(0)) revert NotCommitted(caseId, msg.sender);
        // casting to 'uint8' is safe because a seat is 0, 1 or 2, so the bit is at most 4
        // forge-lint: disable-next-line(unsafe-typecast)
        uint8 bit = uint8(1 << seat);
        if ((c.revealedMask & bit) != 0) revert AlreadyRevealed(caseId, msg.sender);
        if (keccak256(abi.encode(caseId, fraud, salt, msg.sender)) != commitment) {
            revert CommitmentMismatch(caseId, msg.sender);
        }
        c.revealedMask |= bit;
        if (fraud) c.fraudMask |= bit;
        ++c.reveals;
        emit VoteRevealed(caseId, msg.sender, fraud);
    }

    /// @notice Decides a case, once: anyone may call it when all three revealed, when the reveal
    ///         phase is over, or when the commit phase ended with fewer than two commitments (no
    ///         quorum is possible). Slashes and suspends on fraud, pays the bond out on honest,
    ///         returns it on no quorum; penalises validators that voted against the quorum or did
    ///         not reveal; credits every share to `earnings`.
    /// @param caseId The case.
    function finalize(bytes32 caseId) external nonReentrant {
        Case storage c = _openCase(caseId);
        bool decidable = c.reveals == VALIDATORS_PER_CASE || block.timestamp >= c.revealDeadline
            || (block.timestamp >= c.commitDeadline && c.commits < QUORUM);
        if (!decidable) revert NotDecidable(caseId, c.revealDeadline);

        uint256 fraudVotes = _popcount(c.fraudMask);
        uint256 honestVotes = c.reveals - fraudVotes;
        uint8 outcome = fraudVotes >= QUORUM ? OUTCOME_FRAUD : honestVotes >= QUORUM ? OUTCOME_HONEST : OUTCOME_NO_QUORUM;
        c.outcome = outcome;

        (address[3] memory majority, uint256 majorityCount, uint256 penalties) = _judgeValidators(c, caseId, outcome);
        address provider = c.provider;
        providers.unfreeze(provider);

        uint256 slashed;
        uint256 pool; // what the quorum shares
        uint256 toFunding;
        if (outcome == OUTCOME_FRAUD) {
            (slashed, pool, toFunding) = _settleFraud(c, provider);
            pool += penalties;
        } else if (outcome == OUTCOME_HONEST) {
            uint256 toProvider = c.bond * honestProviderBps / BPS;
            _earnings[provider] += toProvider;
            pool = c.bond - toProvider + penalties;
            // Attestations can fill this soft counter to the top; it saturates there rather than
            // overflow, which would leave the case undecidable and its stakes frozen for good.
            ProviderRecord storage record = _records[provider];
            uint64 passed = record.challengesPassed;
            if (passed != type(uint64).max) record.challengesPassed = passed + 1;
        } else {
            // No quorum: nobody can say who was right, so the reporter loses nothing and the
            // penalties of validators who did not reveal fund the pool.
            _earnings[c.reporter] += c.bond;
            toFunding = penalties;
        }
        if (pool != 0) {
            uint256 each = pool / majorityCount;
            for (uint256 i; i < majorityCount; ++i) {
                _earnings[majority[i]] += each;
            }
            toFunding += pool - each * majorityCount; // rounding dust, never stranded
        }
        if (toFunding != 0) _earnings[fundingPool] += toFunding;
        emit Verdict(caseId, provider, outcome, slashed);
    }

    // ---------------------------------------------------------------- reputation and earnings

    /// @notice Records `count` challenges of `provider` the caller (a staked validator) re-ran and
    ///         found honest. A soft signal for routing: the chain does not check it, but each
    ///         attestation is signed by a staked, named validator (see `PassesAttested`), so a
    ///         router can weigh attesters as it sees fit.
    /// @param provider The provider; registered, not the caller.
    /// @param count How many; not zero.
    function attestPasses(address provider, uint64 count) external {
        if (!_active.contains(msg.sender)) revert NotValidator(msg.sender);
        if (provider == msg.sender) revert SelfAttestation(provider);
        if (!providers.isRegistered(provider)) revert ProviderNotRegistered(provider);
        if (count == 0) revert ZeroAmount();
        _records[provider].challengesPassed += count;
        emit PassesAttested(msg.sender, provider, count);
    }

    /// @inheritdoc IProtocolFeeSource
    function withdrawEarnings(address to) external nonReentrant returns (uint256 amount) {
        amount = _earnings[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _earnings[msg.sender] = 0;
        token.safeTransfer(to, amount);
        emit EarningsWithdrawn(msg.sender, to, amount);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IProtocolFeeSource
    function earnings(address account) external view returns (uint256) {
        return _earnings[account];
    }

    /// @notice A provider's verification record.
    /// @param provider The provider.
    /// @return challengesPassed Challenges passed (honest verdicts and validators' attestations).
    /// @return challengesFailed Fraud verdicts.
    /// @return slashedAmount Stake slashed by them.
    /// @return suspended Whether it is suspended.
    function providerRecord(address provider)
        external
        view
        returns (uint64 challengesPassed, uint64 challengesFailed, uint256 slashedAmount, bool suspended)
    {
        ProviderRecord storage r = _records[provider];
        return (r.challengesPassed, r.challengesFailed, r.slashedAmount, r.suspended);
    }

    /// @notice A validator's record.
    /// @param validator The validator.
    /// @return agreed Votes with the quorum.
    /// @return disagreed Votes against it.
    /// @return missed Cases without a reveal.
    /// @return stake Its active stake.
    function validatorRecord(address validator)
        external
        view
        returns (uint64 agreed, uint64 disagreed, uint64 missed, uint256 stake)
    {
        Validator storage v = _validators[validator];
        return (v.agreed, v.disagreed, v.missed, v.stake);
    }

    /// @notice A validator's registration (all zero when it never registered).
    /// @param validator The account.
    /// @return The registration.
    function getValidator(address validator) external view returns (Validator memory) {
        return _validators[validator];
    }

    /// @notice A validator's HTTP endpoint (empty when it set none).
    /// @param validator The account.
    /// @return The endpoint.
    function validatorEndpoint(address validator) external view returns (string memory) {
        return _endpoints[validator];
    }

    /// @notice Whether an account is a validator staked at least `minValidatorStake` (drawn, may attest).
    /// @param account The account.
    /// @return True when active.
    function isValidator(address account) external view returns (bool) {
        return _active.contains(account);
    }

    /// @notice The active validators, in no particular order.
    /// @return The accounts.
    function validators() external view returns (address[] memory) {
        return _active.values();
    }

    /// @notice A case (all zero when there is none).
    /// @param caseId The case.
    /// @return The case.
    function getCase(bytes32 caseId) external view returns (Case memory) {
        return _cases[caseId];
    }

    /// @notice The EIP-712 digest of a receipt in PaymentChannels' domain: what the provider signs,
    ///         and the id of the case it would make.
    /// @param receipt The receipt.
    /// @return The digest.
    function receiptDigest(ReceiptData calldata receipt) public view returns (bytes32) {
        // Every field is a static type, so abi.encode lays the struct out as EIP-712's encodeData does.
        return MessageHashUtils.toTypedDataHash(
            channels.domainSeparator(), keccak256(abi.encode(RECEIPT_TYPEHASH, receipt))
        );
    }

    // ---------------------------------------------------------------- internal

    /// @dev Opens a checked report's case: draws its validators, holds their stake and the
    ///      provider's, pulls the bond. (Apart from `report` to keep its stack small.)
    function _open(Case storage c, bytes32 caseId, address provider, bytes32 weightsHash) internal {
        address[3] memory drawn = _draw(caseId, provider, msg.sender);
        uint64 commitDeadline = uint64(block.timestamp) + commitPeriod;
        uint64 revealDeadline = commitDeadline + revealPeriod;
        c.provider = provider;
        c.reporter = msg.sender;
        c.commitDeadline = commitDeadline;
        c.revealDeadline = revealDeadline;
        c.validators = drawn;
        for (uint256 i; i < VALIDATORS_PER_CASE; ++i) {
            ++_validators[drawn[i]].openCases;
        }
        c.bond = _pull(reportBond);
        providers.freeze(provider);
        emit CaseOpened(caseId, provider, msg.sender, drawn, weightsHash, commitDeadline, revealDeadline);
    }

    /// @dev Draws three distinct active validators other than `provider` and `reporter`: a partial
    ///      Fisher-Yates shuffle of the eligible set seeded by prevrandao and the case id.
    function _draw(bytes32 caseId, address provider, address reporter) internal view returns (address[3] memory drawn) {
        address[] memory candidates = _active.values();
        uint256 eligible;
        for (uint256 i; i < candidates.length; ++i) {
            address v = candidates[i];
            if (v != provider && v != reporter) candidates[eligible++] = v;
        }
        if (eligible < VALIDATORS_PER_CASE) revert NotEnoughValidators(eligible, VALIDATORS_PER_CASE);
        bytes32 seed = keccak256(abi.encode(block.prevrandao, caseId));
        for (uint256 k; k < VALIDATORS_PER_CASE; ++k) {
            uint256 j = k + uint256(keccak256(abi.encode(seed, k))) % (eligible - k);
            (candidates[k], candidates[j]) = (candidates[j], candidates[k]);
            drawn[k] = candidates[k];
        }
    }

    /// @dev Slashes and suspends the provider of a fraud verdict, credits the reporter its bond
    ///      and share, and returns the slash, the validators' share and the funding share.
    function _settleFraud(Case storage c, address provider)
        internal
        returns (uint256 slashed, uint256 toValidators, uint256 toFunding)
    {
        // mulDiv: a stake near the top of uint256 (a token anyone can mint, as on a devnet) must
        // not overflow here, or the case could never be decided.
        slashed = providers.slash(provider, Math.mulDiv(providers.slashableStake(provider), slashBps, BPS));
        providers.suspend(provider);
        uint256 toReporter = Math.mulDiv(slashed, reporterBps, BPS);
        toValidators = Math.mulDiv(slashed, validatorBps, BPS);
        toFunding = slashed - toReporter - toValidators;
        _earnings[c.reporter] += c.bond + toReporter;
        ProviderRecord storage record = _records[provider];
        ++record.challengesFailed;
        record.slashedAmount += slashed;
        record.suspended = true;
    }

    /// @dev Updates each drawn validator's record, releases its stake, and takes the penalty of
    ///      those against the quorum or silent. Returns the quorum's members and the penalties taken.
    function _judgeValidators(Case storage c, bytes32 caseId, uint8 outcome)
        internal
        returns (address[3] memory majority, uint256 majorityCount, uint256 penalties)
    {
        bool fraudWon = outcome == OUTCOME_FRAUD;
        for (uint256 i; i < VALIDATORS_PER_CASE; ++i) {
            address account = c.validators[i];
            Validator storage v = _validators[account];
            --v.openCases;
            // casting to 'uint8' is safe because a seat is 0, 1 or 2, so the bit is at most 4
            // forge-lint: disable-next-line(unsafe-typecast)
            uint8 bit = uint8(1 << i);
            bool revealed = (c.revealedMask & bit) != 0;
            bool penalise;
            if (!revealed) {
                // A validator that committed in time but whose case was decided before the reveal
                // deadline (too few commitments: decidable as soon as the commit phase ends) never
                // had a chance to reveal, so anyone could otherwise front-run its reveal with
                // `finalize` and take its stake; only the silent are penalised.
                if (c.commitments[i] != bytes32(0) && block.timestamp < c.revealDeadline) continue;
                ++v.missed;
                penalise = true;
            } else if (outcome != OUTCOME_NO_QUORUM) {
                if (((c.fraudMask & bit) != 0) == fraudWon) {
                    ++v.agreed;
                    majority[majorityCount++] = account;
                } else {
                    ++v.disagreed;
                    penalise = true;
                }
            }
            if (penalise) penalties += _penalise(caseId, account, v);
        }
    }

    /// @dev Takes `validatorPenaltyBps` of a validator's stake (stake first, then unstaking) and
    ///      drops it from the drawn set when it falls below the minimum.
    function _penalise(bytes32 caseId, address account, Validator storage v) internal returns (uint256 taken) {
        // mulDiv, as in `_settleFraud`: a silent validator with an enormous stake must not make
        // every case it is drawn in undecidable.
        uint256 amount = Math.mulDiv(v.stake + v.unstaking, validatorPenaltyBps, BPS);
        if (amount == 0) return 0;
        uint256 fromStake = amount < v.stake ? amount : v.stake;
        v.stake -= fromStake;
        v.unstaking -= amount - fromStake;
        if (v.stake < minValidatorStake) _active.remove(account);
        emit ValidatorPenalised(caseId, account, amount);
        return amount;
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
        if (c.provider == address(0)) revert CaseNotFound(caseId);
        if (c.outcome != 0) revert CaseAlreadyDecided(caseId, c.outcome);
    }

    /// @dev The validator registration of `account`, reverting when there is none.
    function _registeredValidator(address account) internal view returns (Validator storage v) {
        v = _validators[account];
        if (!v.registered) revert ValidatorNotRegistered(account);
    }

    /// @dev Bits set in a 3-bit mask.
    function _popcount(uint8 mask) internal pure returns (uint256) {
        return (mask & 1) + ((mask >> 1) & 1) + ((mask >> 2) & 1);
    }

    /// @dev Pulls `amount` from the caller and returns what arrived (fee-on-transfer tokens are
    ///      credited only what this contract holds).
    function _pull(uint256 amount) internal returns (uint256 received) {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        received = token.balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
    }
}
