// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "../../utils/TestBase.sol";
import {TestToken} from "../../../src/TestToken.sol";
import {ProviderRegistry} from "../../../src/ProviderRegistry.sol";
import {PaymentChannels} from "../../../src/PaymentChannels.sol";
import {QuadraticFunding} from "../../../src/QuadraticFunding.sol";
import {ServingVerification} from "../../../src/ServingVerification.sol";

/// @notice Drives ServingVerification and ProviderRegistry (as deployed by VerificationFixture)
///         through random sequences of validator staking, unstaking and withdrawal, provider
///         staking and unstaking, reports with bonds (and replays of old evidence), commit and
///         reveal votes (honest, fraud, a wrong salt or vote, or none at all), time warps,
///         finalize (also of decided cases), earnings withdrawals, the funding pool collecting
///         its share, and channel opens to suspended providers. It keeps ghost totals of every
///         token in and out, works out what each verdict must be and pay from the votes it cast
///         itself (not from the contract's state), and counts every departure. Each action checks
///         its preconditions the way the contract documents them and then requires success (the
///         run fails on any unexpected revert), or expects the documented error.
contract ServingVerificationHandler is TestBase {
    uint256 internal constant BPS = 10_000;
    uint256 internal constant MAX_AMOUNT = 1e12;
    /// @dev Cases per run: enough for overlapping cases on every provider and validator, few
    ///      enough that the invariants' loops over cases stay cheap.
    uint256 internal constant MAX_CASES = 24;
    /// @dev Open at once: enough to overlap on a provider or validator, few enough that most cases
    ///      get their votes (each needs three commits and reveals) before their deadlines.
    uint256 internal constant MAX_OPEN_CASES = 2;

    ServingVerification public immutable sv;
    ProviderRegistry public immutable registry;
    PaymentChannels public immutable channels;
    QuadraticFunding public immutable qf;
    TestToken public immutable usd;
    uint256 public immutable modelId;

    address[] internal _providers;
    uint256[] internal _providerKeys;
    address[] internal _validators;
    address[] internal _reporters;
    address internal immutable _payer;

    /// @dev What the handler itself knows of a case: who, and the votes it committed and revealed.
    struct Ghost {
        address provider;
        address reporter;
        uint256 bond;
        bool[3] committed;
        bool[3] vote;
        bool[3] revealed;
        uint8 outcome;
    }

    /// @dev A case's evidence, kept to replay it.
    struct Evidence {
        ServingVerification.ReceiptData receipt;
        bytes signature;
        bytes request;
        bytes response;
    }

    /// @dev Balances and records read just before a `finalize`, to compare its effects with.
    struct Before {
        address[3] drawn;
        uint256[3] validatorFunds;
        uint256[3] validatorEarnings;
        uint256 reporterEarnings;
        uint256 providerEarnings;
        uint256 fundingEarnings;
        uint256 slashable;
        uint256 providerSlashed;
    }

    /// @dev What a verdict must pay, worked out from the handler's own votes.
    struct Expected {
        uint8 outcome;
        uint256 slashed;
        uint256[3] penalty;
        bool[3] majority;
        uint256 majorityCount;
        uint256 toReporter;
        uint256 toProvider;
        uint256 each;
        uint256 toFunding;
    }

    bytes32[] internal _caseIds;
    mapping(bytes32 caseId => Ghost) internal _ghosts;
    mapping(bytes32 caseId => Evidence) internal _evidence;
    uint256 internal _receiptNonce;

    /// @dev The handler's clock; forced onto the VM at the start of every action.
    uint256 public currentTime;

    // ghost totals (tokens, to the base unit)
    /// @dev Everything that entered the two contracts: the fixture's stakes, stakes and bonds since.
    uint256 public ghostIn;
    uint256 public ghostProviderWithdrawn;
    uint256 public ghostValidatorWithdrawn;
    uint256 public ghostEarningsWithdrawn;
    uint256 public ghostFundingCollected;
    uint256 public ghostBonds;
    uint256 public ghostBondsDecided;
    uint256 public ghostSlashed;
    uint256 public ghostPenalties;
    uint256 public ghostToReporters;
    uint256 public ghostToValidators;
    uint256 public ghostToProviders;
    uint256 public ghostToFunding;
    mapping(address provider => uint256) public ghostSlashedOf;
    mapping(address provider => uint256) public ghostFraudVerdictsOf;
    mapping(bytes32 caseId => uint8) public ghostOutcomeOf;

    // ghost failure counters (all must stay zero)
    uint256 public ghostSlashWithoutQuorum;
    uint256 public ghostWrongOutcomes;
    uint256 public ghostSplitMismatches;
    uint256 public ghostPenaltyMismatches;
    uint256 public ghostDoubleFinalizations;
    uint256 public ghostEarlyFinalizations;
    uint256 public ghostReplaysAccepted;
    uint256 public ghostBadRevealsAccepted;
    uint256 public ghostVotesAfterVerdict;
    /// @dev Commitments after the commit phase or twice, reveals before reveals open or after they close.
    uint256 public ghostVotesOutOfPhase;
    uint256 public ghostEarlyWithdrawals;
    uint256 public ghostSuspendedChannelsOpened;
    uint256 public ghostUnexpectedErrors;

    /// @dev How often each action did something (for tuning; read with `calls("report")`).
    mapping(string action => uint256) public calls;

    modifier useTime() {
        vm.warp(currentTime);
        _;
    }

    constructor(
        ServingVerification sv_,
        QuadraticFunding qf_,
        uint256 modelId_,
        address[] memory providers_,
        uint256[] memory providerKeys,
        address[] memory validators_,
        address[] memory reporters,
        uint256 startTime
    ) {
        sv = sv_;
        registry = sv_.providers();
        channels = sv_.channels();
        qf = qf_;
        usd = TestToken(address(sv_.token()));
        modelId = modelId_;
        _providers = providers_;
        _providerKeys = providerKeys;
        _validators = validators_;
        _reporters = reporters;
        _payer = makeAddr("payer");
        currentTime = startTime;
        ghostIn = usd.balanceOf(address(sv_)) + usd.balanceOf(address(registry));
        for (uint256 i; i < providers_.length; ++i) {
            _approve(providers_[i]);
        }
        for (uint256 i; i < validators_.length; ++i) {
            _approve(validators_[i]);
        }
        for (uint256 i; i < reporters.length; ++i) {
            _approve(reporters[i]);
        }
        _approve(_payer);
    }

    function _approve(address account) internal {
        vm.startPrank(account);
        usd.approve(address(sv), type(uint256).max);
        usd.approve(address(registry), type(uint256).max);
        usd.approve(address(channels), type(uint256).max);
        vm.stopPrank();
    }

    // ------------------------------------------------------------ validators

    function registerValidator(uint256 seed, uint256 amount) external useTime {
        address v = _validators[seed % _validators.length];
        if (sv.getValidator(v).registered) return;
        amount = bound(amount, sv.minValidatorStake(), MAX_AMOUNT);
        usd.mint(v, amount);
        vm.prank(v);
        sv.registerValidator(amount);
        ghostIn += amount;
        calls["registerValidator"]++;
    }

    function addValidatorStake(uint256 seed, uint256 amount) external useTime {
        address v = _validators[seed % _validators.length];
        if (!sv.getValidator(v).registered) return;
        amount = bound(amount, 1, MAX_AMOUNT);
        usd.mint(v, amount);
        vm.prank(v);
        sv.addValidatorStake(amount);
        ghostIn += amount;
        calls["addValidatorStake"]++;
    }

    function requestValidatorUnstake(uint256 seed, uint256 amount) external useTime {
        address v = _validators[seed % _validators.length];
        ServingVerification.Validator memory r = sv.getValidator(v);
        if (!r.registered || r.stake == 0) return;
        amount = bound(amount, 1, r.stake);
        vm.prank(v);
        sv.requestValidatorUnstake(amount);
        calls["requestValidatorUnstake"]++;
    }

    function withdrawValidatorStake(uint256 seed) external useTime {
        address v = _validators[seed % _validators.length];
        ServingVerification.Validator memory r = sv.getValidator(v);
        if (!r.registered || r.unstaking == 0) return;
        uint256 before = usd.balanceOf(v);
        vm.prank(v);
        (bool ok, bytes memory ret) = address(sv).call(abi.encodeCall(ServingVerification.withdrawValidatorStake, ()));
        if (r.openCases != 0) {
            _expectError(ok, ret, ServingVerification.ValidatorFrozen.selector);
        } else if (block.timestamp < r.unstakeReadyAt) {
            _expectError(ok, ret, ServingVerification.UnstakeNotReady.selector);
        } else {
            if (!ok) revert("withdrawValidatorStake failed when it was due");
            if (usd.balanceOf(v) - before != r.unstaking) ghostUnexpectedErrors++;
            ghostValidatorWithdrawn += r.unstaking;
            calls["withdrawValidatorStake"]++;
        }
        if (ok && (r.openCases != 0 || block.timestamp < r.unstakeReadyAt)) ghostEarlyWithdrawals++;
    }

    // ------------------------------------------------------------ providers

    function addProviderStake(uint256 seed, uint256 amount) external useTime {
        address p = _providers[seed % _providers.length];
        amount = bound(amount, 1, MAX_AMOUNT);
        usd.mint(p, amount);
        vm.prank(p);
        registry.addStake(amount);
        ghostIn += amount;
        calls["addProviderStake"]++;
    }

    function requestProviderUnstake(uint256 seed, uint256 amount) external useTime {
        address p = _providers[seed % _providers.length];
        ProviderRegistry.Provider memory r = registry.getProvider(p);
        if (r.stake == 0) return;
        amount = bound(amount, 1, r.stake);
        vm.prank(p);
        registry.requestUnstake(amount);
        calls["requestProviderUnstake"]++;
    }

    function withdrawProviderStake(uint256 seed) external useTime {
        address p = _providers[seed % _providers.length];
        ProviderRegistry.Provider memory r = registry.getProvider(p);
        if (r.unstaking == 0) return;
        vm.prank(p);
        (bool ok, bytes memory ret) = address(registry).call(abi.encodeCall(ProviderRegistry.withdrawStake, ()));
        if (r.openCases != 0) {
            _expectError(ok, ret, ProviderRegistry.StakeFrozen.selector);
        } else if (block.timestamp < r.unstakeReadyAt) {
            _expectError(ok, ret, ProviderRegistry.UnstakeNotReady.selector);
        } else {
            if (!ok) revert("withdrawStake failed when it was due");
            ghostProviderWithdrawn += r.unstaking;
            calls["withdrawProviderStake"]++;
        }
        if (ok && (r.openCases != 0 || block.timestamp < r.unstakeReadyAt)) ghostEarlyWithdrawals++;
    }

    // ------------------------------------------------------------ cases

    function report(uint256 providerSeed, uint256 reporterSeed, uint256 randao) external useTime {
        if (_caseIds.length >= MAX_CASES || _openCases() >= MAX_OPEN_CASES) return;
        // Providers and reporters are never validators here, so every active validator is eligible.
        if (sv.validators().length < sv.VALIDATORS_PER_CASE()) return;
        uint256 pi = providerSeed % _providers.length;
        address p = _providers[pi];
        address by = _reporters[reporterSeed % _reporters.length];
        Evidence memory e = _newEvidence(pi);
        uint256 bond = sv.reportBond();
        usd.mint(by, bond);
        vm.prevrandao(randao);
        vm.prank(by);
        bytes32 caseId = sv.report(p, e.receipt, e.signature, e.request, e.response);
        _caseIds.push(caseId);
        _evidence[caseId] = e;
        Ghost storage g = _ghosts[caseId];
        g.provider = p;
        g.reporter = by;
        g.bond = sv.getCase(caseId).bond;
        if (g.bond != bond) ghostUnexpectedErrors++;
        ghostIn += bond;
        ghostBonds += bond;
        calls["report"]++;
    }

    /// @dev Old evidence reported again, by anyone, before or after its verdict: always refused.
    function reportReplay(uint256 caseSeed, uint256 reporterSeed) external useTime {
        if (_caseIds.length == 0) return;
        bytes32 caseId = _caseIds[caseSeed % _caseIds.length];
        Evidence memory e = _evidence[caseId];
        address by = _reporters[reporterSeed % _reporters.length];
        usd.mint(by, sv.reportBond());
        vm.prank(by);
        (bool ok, bytes memory ret) = address(sv)
            .call(
                abi.encodeCall(
                    ServingVerification.report,
                    (_ghosts[caseId].provider, e.receipt, e.signature, e.request, e.response)
                )
            );
        if (ok) ghostReplaysAccepted++;
        else _expectError(ok, ret, ServingVerification.CaseExists.selector);
        calls["reportReplay"]++;
    }

    function commitVote(uint256 caseSeed, uint256 seat, bool fraud) external useTime {
        if (_caseIds.length == 0) return;
        bytes32 caseId = _pickCase(caseSeed);
        Ghost storage g = _ghosts[caseId];
        seat %= 3;
        // One yet to commit, when there is one.
        for (uint256 k; k < 2 && g.committed[seat]; ++k) {
            seat = (seat + 1) % 3;
        }
        ServingVerification.Case memory c = sv.getCase(caseId);
        address v = c.validators[seat];
        bytes32 commitment = keccak256(abi.encode(caseId, fraud, _salt(caseId, v), v));
        if (g.outcome != 0) {
            vm.prank(v);
            (bool ok, bytes memory ret) =
                address(sv).call(abi.encodeCall(ServingVerification.commitVote, (caseId, commitment)));
            if (ok) ghostVotesAfterVerdict++;
            else _expectError(ok, ret, ServingVerification.CaseAlreadyDecided.selector);
            return;
        }
        if (g.committed[seat] || block.timestamp >= c.commitDeadline) {
            // A second commitment, or one after the commit phase: refused.
            vm.prank(v);
            (bool ok, bytes memory ret) =
                address(sv).call(abi.encodeCall(ServingVerification.commitVote, (caseId, commitment)));
            if (ok) {
                ghostVotesOutOfPhase++;
            } else if (block.timestamp >= c.commitDeadline) {
                _expectError(ok, ret, ServingVerification.CommitClosed.selector);
            } else {
                _expectError(ok, ret, ServingVerification.AlreadyCommitted.selector);
            }
            return;
        }
        vm.prank(v);
        sv.commitVote(caseId, commitment);
        g.committed[seat] = true;
        g.vote[seat] = fraud;
        calls["commitVote"]++;
    }

    /// @param kind 0-2: the committed vote and salt; 3: a wrong salt; 4: the other vote (both refused).
    function revealVote(uint256 caseSeed, uint256 seat, uint256 kind) external useTime {
        if (_caseIds.length == 0) return;
        bytes32 caseId = _pickCase(caseSeed);
        Ghost storage g = _ghosts[caseId];
        seat %= 3;
        // One yet to reveal, when there is one.
        for (uint256 k; k < 2 && !(g.committed[seat] && !g.revealed[seat]); ++k) {
            seat = (seat + 1) % 3;
        }
        kind %= 5;
        ServingVerification.Case memory c = sv.getCase(caseId);
        address v = c.validators[seat];
        bool fraud = kind == 4 ? !g.vote[seat] : g.vote[seat];
        bytes32 salt = kind == 3 ? keccak256(abi.encode("wrong", _salt(caseId, v))) : _salt(caseId, v);
        if (g.outcome != 0) {
            vm.prank(v);
            (bool ok, bytes memory ret) =
                address(sv).call(abi.encodeCall(ServingVerification.revealVote, (caseId, fraud, salt)));
            if (ok) ghostVotesAfterVerdict++;
            else _expectError(ok, ret, ServingVerification.CaseAlreadyDecided.selector);
            return;
        }
        if (!g.committed[seat] || g.revealed[seat]) return;
        // Reveals open once all three committed (nobody is left to copy from) or the commit phase ended.
        bool opened = _count(g.committed) == 3 || block.timestamp >= c.commitDeadline;
        if (!opened || block.timestamp >= c.revealDeadline) {
            vm.prank(v);
            (bool ok, bytes memory ret) =
                address(sv).call(abi.encodeCall(ServingVerification.revealVote, (caseId, fraud, salt)));
            if (ok) ghostVotesOutOfPhase++;
            else if (!opened) _expectError(ok, ret, ServingVerification.RevealNotOpen.selector);
            else _expectError(ok, ret, ServingVerification.RevealClosed.selector);
            calls["revealOutOfPhase"]++;
            return;
        }
        vm.prank(v);
        if (kind < 3) {
            sv.revealVote(caseId, fraud, salt);
            g.revealed[seat] = true;
            calls["revealVote"]++;
        } else {
            (bool ok, bytes memory ret) =
                address(sv).call(abi.encodeCall(ServingVerification.revealVote, (caseId, fraud, salt)));
            if (ok) ghostBadRevealsAccepted++;
            else _expectError(ok, ret, ServingVerification.CommitmentMismatch.selector);
            calls["revealVoteBad"]++;
        }
    }

    function finalize(uint256 caseSeed) external useTime {
        if (_caseIds.length == 0) return;
        bytes32 caseId = _pickCase(caseSeed);
        Ghost storage g = _ghosts[caseId];
        if (g.outcome != 0) {
            (bool ok, bytes memory ret) = address(sv).call(abi.encodeCall(ServingVerification.finalize, (caseId)));
            if (ok) ghostDoubleFinalizations++;
            else _expectError(ok, ret, ServingVerification.CaseAlreadyDecided.selector);
            calls["finalizeTwice"]++;
            return;
        }
        ServingVerification.Case memory c = sv.getCase(caseId);
        uint256 reveals = _count(g.revealed);
        uint256 commits = _count(g.committed);
        bool decidable = reveals == 3 || block.timestamp >= c.revealDeadline
            || (block.timestamp >= c.commitDeadline && commits < sv.QUORUM());
        if (!decidable) {
            (bool ok, bytes memory ret) = address(sv).call(abi.encodeCall(ServingVerification.finalize, (caseId)));
            if (ok) ghostEarlyFinalizations++;
            else _expectError(ok, ret, ServingVerification.NotDecidable.selector);
            return;
        }
        Before memory b = _before(c, g);
        Expected memory x = _expected(g, b, c.revealDeadline);
        sv.finalize(caseId);
        g.outcome = x.outcome;
        ghostOutcomeOf[caseId] = x.outcome;
        _check(caseId, g, b, x);
        calls[x.outcome == 1 ? "verdictFraud" : x.outcome == 2 ? "verdictHonest" : "verdictNoQuorum"]++;
        if (x.slashed != 0) calls["slashed"]++;
        if (x.penalty[0] + x.penalty[1] + x.penalty[2] != 0) calls["penalised"]++;
    }

    // ------------------------------------------------------------ money out, time, channels

    function withdrawEarnings(uint256 seed) external useTime {
        uint256 n = _providers.length + _validators.length + _reporters.length;
        uint256 i = seed % n;
        address account = i < _providers.length
            ? _providers[i]
            : i < _providers.length + _validators.length
                ? _validators[i - _providers.length]
                : _reporters[i - _providers.length - _validators.length];
        uint256 amount = sv.earnings(account);
        if (amount == 0) return;
        address to = makeAddr("wallet");
        uint256 before = usd.balanceOf(to);
        vm.prank(account);
        sv.withdrawEarnings(to);
        if (usd.balanceOf(to) - before != amount || sv.earnings(account) != 0) ghostUnexpectedErrors++;
        ghostEarningsWithdrawn += amount;
        calls["withdrawEarnings"]++;
    }

    /// @dev QuadraticFunding pulls the funding share of slashes, as it does protocol fees (no
    ///      channel carries traffic here, so all it collects is ServingVerification's).
    function collectFunding() external useTime {
        uint256 amount = sv.earnings(address(qf));
        if (amount == 0) return;
        uint256 received = qf.collectProtocolFees();
        if (received != amount || sv.earnings(address(qf)) != 0) ghostUnexpectedErrors++;
        ghostFundingCollected += amount;
        calls["collectFunding"]++;
    }

    /// @dev A client tries to open a channel to a suspended provider: refused, whatever its stake.
    function openChannelToSuspended(uint256 seed, uint256 salt) external useTime {
        address p = _providers[seed % _providers.length];
        if (!registry.getProvider(p).suspended) return;
        usd.mint(_payer, 1e6);
        vm.prank(_payer);
        (bool ok, bytes memory ret) =
            address(channels).call(abi.encodeCall(PaymentChannels.open, (p, modelId, salt, 1e6)));
        if (ok) ghostSuspendedChannelsOpened++;
        else _expectError(ok, ret, PaymentChannels.OfferNotFound.selector);
        calls["openChannelToSuspended"]++;
    }

    /// @dev Mostly steps within a case's phases (commit 1h, reveal 2h in the fixture), one time in
    ///      eight up to days, past the unstaking delays.
    function warp(uint256 seconds_) external {
        currentTime += seconds_ % 8 == 0 ? bound(seconds_, 1 hours, 8 days) : bound(seconds_, 1, 40 minutes);
        calls["warp"]++;
    }

    // ------------------------------------------------------------ views for the invariants

    function caseIds() external view returns (bytes32[] memory) {
        return _caseIds;
    }

    function providerAccounts() external view returns (address[] memory) {
        return _providers;
    }

    function validatorAccounts() external view returns (address[] memory) {
        return _validators;
    }

    function reporterAccounts() external view returns (address[] memory) {
        return _reporters;
    }

    /// @notice Open cases against `provider` as the handler counts them.
    function ghostOpenCasesOf(address provider) external view returns (uint256 n) {
        for (uint256 i; i < _caseIds.length; ++i) {
            Ghost storage g = _ghosts[_caseIds[i]];
            if (g.outcome == 0 && g.provider == provider) ++n;
        }
    }

    /// @notice Open cases `validator` is drawn in as the handler counts them.
    function ghostValidatorOpenCasesOf(address validator) external view returns (uint256 n) {
        for (uint256 i; i < _caseIds.length; ++i) {
            if (_ghosts[_caseIds[i]].outcome != 0) continue;
            address[3] memory drawn = sv.getCase(_caseIds[i]).validators;
            for (uint256 s; s < 3; ++s) {
                if (drawn[s] == validator) ++n;
            }
        }
    }

    /// @notice The bonds of cases still open.
    function ghostOpenBonds() external view returns (uint256 sum) {
        for (uint256 i; i < _caseIds.length; ++i) {
            Ghost storage g = _ghosts[_caseIds[i]];
            if (g.outcome == 0) sum += g.bond;
        }
    }

    // ------------------------------------------------------------ internal

    /// @dev Mostly an open case (the first open one from `seed` on), so cases get their votes;
    ///      one time in eight any case, so decided ones are tried again.
    function _pickCase(uint256 seed) internal view returns (bytes32) {
        uint256 n = _caseIds.length;
        if (seed % 8 == 0) return _caseIds[(seed >> 3) % n];
        uint256 start = seed % n;
        for (uint256 k; k < n; ++k) {
            bytes32 caseId = _caseIds[(start + k) % n];
            if (_ghosts[caseId].outcome == 0) return caseId;
        }
        return _caseIds[start];
    }

    function _openCases() internal view returns (uint256 n) {
        for (uint256 i; i < _caseIds.length; ++i) {
            if (_ghosts[_caseIds[i]].outcome == 0) ++n;
        }
    }

    function _salt(bytes32 caseId, address v) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", caseId, v));
    }

    function _count(bool[3] memory flags) internal pure returns (uint256 n) {
        for (uint256 i; i < 3; ++i) {
            if (flags[i]) ++n;
        }
    }

    /// @dev A fresh receipt of provider `pi`, its plaintext hashing to it, signed by its key.
    function _newEvidence(uint256 pi) internal returns (Evidence memory e) {
        uint256 n = ++_receiptNonce;
        e.request = abi.encodePacked('{"model":"stories260K","temperature":0,"seed":', vm.toString(n), "}");
        e.response = abi.encodePacked("answer ", vm.toString(n));
        e.receipt = ServingVerification.ReceiptData({
            requestId: keccak256(abi.encode("request", n)),
            channelId: keccak256(abi.encode("channel", pi)),
            weightsHash: keccak256("stories260K weights"),
            inputTokens: uint64(n % 500 + 1),
            outputTokens: uint64(n % 300 + 1),
            cost: 230 + n,
            cumulativeOwed: 230 * n,
            requestHash: sha256(e.request),
            responseHash: sha256(e.response)
        });
        e.signature = signDigest(_providerKeys[pi], sv.receiptDigest(e.receipt));
    }

    function _before(ServingVerification.Case memory c, Ghost storage g) internal view returns (Before memory b) {
        b.drawn = c.validators;
        for (uint256 s; s < 3; ++s) {
            ServingVerification.Validator memory v = sv.getValidator(b.drawn[s]);
            b.validatorFunds[s] = v.stake + v.unstaking;
            b.validatorEarnings[s] = sv.earnings(b.drawn[s]);
        }
        b.reporterEarnings = sv.earnings(g.reporter);
        b.providerEarnings = sv.earnings(g.provider);
        b.fundingEarnings = sv.earnings(address(qf));
        b.slashable = registry.slashableStake(g.provider);
        b.providerSlashed = registry.getProvider(g.provider).slashed;
    }

    /// @dev The verdict and every share, from the handler's own votes and the terms.
    function _expected(Ghost storage g, Before memory b, uint64 revealDeadline)
        internal
        view
        returns (Expected memory x)
    {
        uint256 fraudVotes;
        uint256 honestVotes;
        for (uint256 s; s < 3; ++s) {
            if (!g.revealed[s]) continue;
            if (g.vote[s]) ++fraudVotes;
            else ++honestVotes;
        }
        x.outcome = fraudVotes >= 2 ? 1 : honestVotes >= 2 ? 2 : 3;
        uint256 penalties;
        for (uint256 s; s < 3; ++s) {
            bool penalise;
            if (!g.revealed[s]) {
                // Committed but decided before it could reveal (too few commitments): spared.
                penalise = !(g.committed[s] && block.timestamp < revealDeadline);
            } else if (x.outcome != 3) {
                x.majority[s] = g.vote[s] == (x.outcome == 1);
                penalise = !x.majority[s];
                if (x.majority[s]) ++x.majorityCount;
            }
            if (penalise) x.penalty[s] = b.validatorFunds[s] * sv.validatorPenaltyBps() / BPS;
            penalties += x.penalty[s];
        }
        uint256 pool;
        if (x.outcome == 1) {
            x.slashed = b.slashable * sv.slashBps() / BPS;
            uint256 reporterShare = x.slashed * sv.reporterBps() / BPS;
            uint256 validatorShare = x.slashed * sv.validatorBps() / BPS;
            x.toReporter = g.bond + reporterShare;
            x.toFunding = x.slashed - reporterShare - validatorShare;
            pool = validatorShare + penalties;
        } else if (x.outcome == 2) {
            x.toProvider = g.bond * sv.honestProviderBps() / BPS;
            pool = g.bond - x.toProvider + penalties;
        } else {
            x.toReporter = g.bond;
            x.toFunding = penalties;
        }
        if (pool != 0) {
            x.each = pool / x.majorityCount;
            x.toFunding += pool - x.each * x.majorityCount;
        }
    }

    /// @dev Compares a verdict's effects with what was expected and adds them to the ghost totals.
    function _check(bytes32 caseId, Ghost storage g, Before memory b, Expected memory x) internal {
        ServingVerification.Case memory c = sv.getCase(caseId);
        if (c.outcome != x.outcome) ghostWrongOutcomes++;

        uint256 slashed = registry.getProvider(g.provider).slashed - b.providerSlashed;
        if (slashed != 0 && x.outcome != 1) ghostSlashWithoutQuorum++;
        if (slashed != x.slashed) ghostSplitMismatches++;
        ghostSlashed += slashed;
        ghostSlashedOf[g.provider] += slashed;
        if (x.outcome == 1) {
            ghostFraudVerdictsOf[g.provider]++;
            if (!registry.getProvider(g.provider).suspended) ghostUnexpectedErrors++;
        }

        uint256 toValidators;
        for (uint256 s; s < 3; ++s) {
            ServingVerification.Validator memory v = sv.getValidator(b.drawn[s]);
            uint256 penalty = b.validatorFunds[s] - (v.stake + v.unstaking);
            if (penalty != x.penalty[s]) ghostPenaltyMismatches++;
            ghostPenalties += penalty;
            uint256 earned = sv.earnings(b.drawn[s]) - b.validatorEarnings[s];
            if (earned != (x.majority[s] ? x.each : 0)) ghostSplitMismatches++;
            toValidators += earned;
        }
        uint256 toReporter = sv.earnings(g.reporter) - b.reporterEarnings;
        uint256 toProvider = sv.earnings(g.provider) - b.providerEarnings;
        uint256 toFunding = sv.earnings(address(qf)) - b.fundingEarnings;
        if (toReporter != x.toReporter || toProvider != x.toProvider || toFunding != x.toFunding) {
            ghostSplitMismatches++;
        }
        ghostToReporters += toReporter;
        ghostToValidators += toValidators;
        ghostToProviders += toProvider;
        ghostToFunding += toFunding;
        ghostBondsDecided += g.bond;
    }

    /// @dev A refused call must carry the documented error, not some other failure.
    function _expectError(bool ok, bytes memory ret, bytes4 selector) internal {
        if (ok) return; // the caller counts a success that should have failed
        if (ret.length < 4 || bytes4(ret) != selector) ghostUnexpectedErrors++;
    }
}
