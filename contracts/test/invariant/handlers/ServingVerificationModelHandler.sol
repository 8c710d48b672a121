// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {TestBase} from "../../utils/TestBase.sol";
import {TestToken} from "../../../src/TestToken.sol";
import {ProviderRegistry} from "../../../src/ProviderRegistry.sol";
import {QuadraticFunding} from "../../../src/QuadraticFunding.sol";
import {ServingVerification} from "../../../src/ServingVerification.sol";

/// @notice Drives ServingVerification and ProviderRegistry with a handful of accounts that may each
///         play every role at once: validator, provider, reporter (also of itself), voter in
///         cases it was drawn in and in cases it was not. Beside the contracts it keeps its own
///         model of them, written from their NatSpec: every validator's and provider's stake,
///         unstaking, delay, open cases and record, every account's earnings, every case's
///         commitments, reveals and verdict. Each action works out from the model alone whether
///         the call must succeed or which error (selector and arguments, exactly) it must revert
///         with, makes the call, fails the run on any difference, and applies the rule to the
///         model; the invariant suite then compares the contracts' whole state with the model.
/// @dev Every token the handler mints is counted (`ghostMinted`), so the suite can check that no
///      token is created or lost anywhere: the supply is what was minted and sits, to the base unit,
///      with the accounts, the two contracts and the funding pool.
contract ServingVerificationModelHandler is TestBase {
    uint256 internal constant BPS = 10_000;
    /// @dev Amounts up to 1e12 base units (a million tokens of 6 decimals): far above every term.
    uint256 internal constant MAX_AMOUNT = 1e12;
    /// @dev One stake per run may be enormous (a token anyone can mint, as on a devnet): 1/64 of
    ///      what a uint256 holds, so that `stake * bps` would overflow and the supply still cannot.
    uint256 internal constant WHALE_AMOUNT = type(uint256).max / 64;
    /// @dev Cases per run; the invariants loop over them, so few enough to stay cheap.
    uint256 internal constant MAX_CASES = 20;
    /// @dev Open at once: enough for a validator or provider to sit in overlapping cases.
    uint256 internal constant MAX_OPEN_CASES = 2;

    ServingVerification public immutable sv;
    ProviderRegistry public immutable registry;
    QuadraticFunding public immutable qf;
    TestToken public immutable usd;
    uint256 public immutable modelId;
    uint256 public immutable initialSupply;

    /// @notice The model of a validator: `ServingVerification.Validator` as the rules make it.
    struct V {
        bool registered;
        uint32 openCases;
        uint64 readyAt;
        uint64 agreed;
        uint64 disagreed;
        uint64 missed;
        uint256 stake;
        uint256 unstaking;
    }

    /// @notice The model of a provider: its registration and its verification record.
    struct P {
        bool registered;
        bool suspended;
        uint32 openCases;
        uint64 readyAt;
        uint64 passed;
        uint64 failed;
        uint256 stake;
        uint256 unstaking;
        uint256 slashed;
    }

    /// @notice The model of a case, with what the handler itself committed and revealed.
    struct C {
        address provider;
        address reporter;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint8 outcome;
        uint8 commits;
        uint8 reveals;
        uint8 revealedMask;
        uint8 fraudMask;
        uint256 bond;
        address[3] validators;
        bytes32[3] commitments;
        bool[3] vote;
        /// @dev The stake a slash could take when the verdict came, and what it took.
        uint256 slashableAtVerdict;
        uint256 slashed;
    }

    /// @dev A case's evidence, kept to report it again.
    struct Evidence {
        ServingVerification.ReceiptData receipt;
        bytes signature;
        bytes request;
        bytes response;
    }

    address[] internal _actors;
    mapping(address account => uint256) internal _keys;
    mapping(address account => V) internal _v;
    mapping(address account => P) internal _p;
    mapping(address account => uint256) internal _earn;
    bytes32[] internal _caseIds;
    mapping(bytes32 caseId => C) internal _c;
    mapping(bytes32 caseId => Evidence) internal _evidence;
    uint256 internal _nonce;
    bool internal _whaleMinted;

    /// @notice The handler's clock, forced onto the VM at the start of every action.
    uint256 public currentTime;
    /// @notice Every token the handler minted since the start.
    uint256 public ghostMinted;
    /// @notice How often each outcome or refusal happened (tuning; read with `calls("...")`).
    mapping(string what => uint256) public calls;

    /// @notice Actions run so far in this run (the suite checks the whole model every few).
    uint256 public actions;

    modifier useTime() {
        vm.warp(currentTime);
        ++actions;
        _;
    }

    constructor(
        ServingVerification sv_,
        QuadraticFunding qf_,
        uint256 modelId_,
        address[] memory actors,
        uint256[] memory keys,
        uint256 startTime
    ) {
        sv = sv_;
        registry = sv_.providers();
        qf = qf_;
        usd = TestToken(address(sv_.token()));
        modelId = modelId_;
        initialSupply = usd.totalSupply();
        currentTime = startTime;
        for (uint256 i; i < actors.length; ++i) {
            address a = actors[i];
            _actors.push(a);
            _keys[a] = keys[i];
            // The model starts from the fixture's registrations.
            ServingVerification.Validator memory v = sv_.getValidator(a);
            _v[a] =
                V(v.registered, v.openCases, v.unstakeReadyAt, v.agreed, v.disagreed, v.missed, v.stake, v.unstaking);
            ProviderRegistry.Provider memory p = registry.getProvider(a);
            _p[a].registered = p.registered;
            _p[a].stake = p.stake;
            _p[a].unstaking = p.unstaking;
            _p[a].readyAt = p.unstakeReadyAt;
            vm.startPrank(a);
            usd.approve(address(sv_), type(uint256).max);
            usd.approve(address(registry), type(uint256).max);
            vm.stopPrank();
        }
    }

    // ------------------------------------------------------------ validators

    function registerValidator(uint256 actorSeed, uint256 amount) external useTime {
        address a = _actor(actorSeed);
        uint256 min = sv.minValidatorStake();
        amount = _stakeAmount(amount, min);
        _mint(a, amount);
        bytes memory err;
        if (_v[a].registered) err = abi.encodeWithSelector(ServingVerification.ValidatorAlreadyRegistered.selector, a);
        else if (amount < min) err = abi.encodeWithSelector(ServingVerification.StakeBelowMinimum.selector, amount, min);
        if (!_call(a, address(sv), abi.encodeCall(ServingVerification.registerValidator, (amount)), err)) return;
        _v[a].registered = true;
        _v[a].stake = amount;
        calls["registerValidator"]++;
    }

    function addValidatorStake(uint256 actorSeed, uint256 amount) external useTime {
        address a = _actor(actorSeed);
        amount = bound(amount, 0, MAX_AMOUNT);
        if (amount != 0) _mint(a, amount);
        bytes memory err;
        if (!_v[a].registered) err = abi.encodeWithSelector(ServingVerification.ValidatorNotRegistered.selector, a);
        else if (amount == 0) err = abi.encodeWithSelector(ServingVerification.ZeroAmount.selector);
        if (!_call(a, address(sv), abi.encodeCall(ServingVerification.addValidatorStake, (amount)), err)) return;
        _v[a].stake += amount;
        calls["addValidatorStake"]++;
    }

    function requestValidatorUnstake(uint256 actorSeed, uint256 amount) external useTime {
        address a = _actor(actorSeed);
        V storage v = _v[a];
        // Now and then more than the stake, or all of it (below the minimum: no longer drawn).
        amount = amount % 4 == 0 ? v.stake : bound(amount, 0, v.stake + 1);
        bytes memory err;
        if (!v.registered) {
            err = abi.encodeWithSelector(ServingVerification.ValidatorNotRegistered.selector, a);
        } else if (amount == 0) {
            err = abi.encodeWithSelector(ServingVerification.ZeroAmount.selector);
        } else if (amount > v.stake) {
            err = abi.encodeWithSelector(ServingVerification.InsufficientStake.selector, v.stake, amount);
        }
        if (!_call(a, address(sv), abi.encodeCall(ServingVerification.requestValidatorUnstake, (amount)), err)) return;
        v.stake -= amount;
        v.unstaking += amount;
        v.readyAt = uint64(block.timestamp) + sv.validatorUnstakeDelay();
        calls["requestValidatorUnstake"]++;
    }

    function withdrawValidatorStake(uint256 actorSeed) external useTime {
        address a = _actor(actorSeed);
        V storage v = _v[a];
        bytes memory err;
        if (!v.registered) {
            err = abi.encodeWithSelector(ServingVerification.ValidatorNotRegistered.selector, a);
        } else if (v.unstaking == 0) {
            err = abi.encodeWithSelector(ServingVerification.NothingToWithdraw.selector, a);
        } else if (v.openCases != 0) {
            err = abi.encodeWithSelector(ServingVerification.ValidatorFrozen.selector, a, v.openCases);
        } else if (block.timestamp < v.readyAt) {
            err = abi.encodeWithSelector(
                ServingVerification.UnstakeNotReady.selector, v.readyAt, uint64(block.timestamp)
            );
        }
        uint256 before = usd.balanceOf(a);
        if (!_call(a, address(sv), abi.encodeCall(ServingVerification.withdrawValidatorStake, ()), err)) return;
        assertEq(usd.balanceOf(a) - before, v.unstaking, "withdrawValidatorStake pays what was unstaking");
        v.unstaking = 0;
        v.readyAt = 0;
        calls["withdrawValidatorStake"]++;
    }

    // ------------------------------------------------------------ providers

    function registerProvider(uint256 actorSeed, uint256 amount) external useTime {
        address a = _actor(actorSeed);
        uint256 min = registry.minStake();
        amount = _stakeAmount(amount, min);
        _mint(a, amount);
        bytes memory err;
        if (_p[a].registered) err = abi.encodeWithSelector(ProviderRegistry.AlreadyRegistered.selector, a);
        else if (amount < min) err = abi.encodeWithSelector(ProviderRegistry.StakeBelowMinimum.selector, amount, min);
        bytes memory data =
            abi.encodeCall(ProviderRegistry.register, ("https://p.example", keccak256(abi.encode("hpke", a)), amount));
        if (!_call(a, address(registry), data, err)) return;
        _p[a].registered = true;
        _p[a].stake = amount;
        vm.prank(a);
        registry.setOffer(modelId, 1e6, 2e6, 1);
        calls["registerProvider"]++;
    }

    function addProviderStake(uint256 actorSeed, uint256 amount) external useTime {
        address a = _actor(actorSeed);
        amount = bound(amount, 0, MAX_AMOUNT);
        if (amount != 0) _mint(a, amount);
        bytes memory err;
        if (!_p[a].registered) err = abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, a);
        else if (amount == 0) err = abi.encodeWithSelector(ProviderRegistry.ZeroAmount.selector);
        if (!_call(a, address(registry), abi.encodeCall(ProviderRegistry.addStake, (amount)), err)) return;
        _p[a].stake += amount;
        calls["addProviderStake"]++;
    }

    function requestProviderUnstake(uint256 actorSeed, uint256 amount) external useTime {
        address a = _actor(actorSeed);
        P storage p = _p[a];
        amount = amount % 4 == 0 ? p.stake : bound(amount, 0, p.stake + 1);
        bytes memory err;
        if (!p.registered) {
            err = abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, a);
        } else if (amount == 0) {
            err = abi.encodeWithSelector(ProviderRegistry.ZeroAmount.selector);
        } else if (amount > p.stake) {
            err = abi.encodeWithSelector(ProviderRegistry.InsufficientStake.selector, p.stake, amount);
        }
        if (!_call(a, address(registry), abi.encodeCall(ProviderRegistry.requestUnstake, (amount)), err)) return;
        p.stake -= amount;
        p.unstaking += amount;
        p.readyAt = uint64(block.timestamp) + registry.unstakeDelay();
        calls["requestProviderUnstake"]++;
    }

    function withdrawProviderStake(uint256 actorSeed) external useTime {
        address a = _actor(actorSeed);
        P storage p = _p[a];
        bytes memory err;
        if (!p.registered) {
            err = abi.encodeWithSelector(ProviderRegistry.NotRegistered.selector, a);
        } else if (p.unstaking == 0) {
            err = abi.encodeWithSelector(ProviderRegistry.NothingToWithdraw.selector, a);
        } else if (p.openCases != 0) {
            err = abi.encodeWithSelector(ProviderRegistry.StakeFrozen.selector, a, p.openCases);
        } else if (block.timestamp < p.readyAt) {
            err = abi.encodeWithSelector(ProviderRegistry.UnstakeNotReady.selector, p.readyAt, uint64(block.timestamp));
        }
        uint256 before = usd.balanceOf(a);
        if (!_call(a, address(registry), abi.encodeCall(ProviderRegistry.withdrawStake, ()), err)) return;
        assertEq(usd.balanceOf(a) - before, p.unstaking, "withdrawStake pays what was unstaking");
        p.unstaking = 0;
        p.readyAt = 0;
        calls["withdrawProviderStake"]++;
    }

    // ------------------------------------------------------------ reports

    /// @dev `kind` 0-3: fresh evidence (refused only when too few validators are eligible);
    ///      4: old evidence again; 5: signed by another key; 6: a response that does not hash to
    ///      the receipt; 7: against an account that never registered as a provider.
    function report(uint256 providerSeed, uint256 reporterSeed, uint256 kind, uint256 randao) external useTime {
        if (_caseIds.length >= MAX_CASES || _openCases() >= MAX_OPEN_CASES) return;
        kind %= 12;
        if (kind > 7) kind %= 4; // mostly fresh evidence
        address p = _actor(providerSeed);
        address by = _actor(reporterSeed);
        if (kind == 7) {
            p = _unregisteredProvider(providerSeed);
            if (p == address(0)) return;
        } else if (!_p[p].registered) {
            p = _registeredProvider(providerSeed);
        }
        Evidence memory e;
        bytes memory err;
        if (kind == 4 && _caseIds.length != 0) {
            bytes32 old = _caseIds[randao % _caseIds.length];
            e = _evidence[old];
            p = _c[old].provider;
            err = abi.encodeWithSelector(ServingVerification.CaseExists.selector, old);
        } else {
            address signer = kind == 5 ? _actor(providerSeed % _actors.length + 1) : p;
            e = _newEvidence(p, signer);
            if (kind == 6) e.response = abi.encodePacked(e.response, "!");
            err = _reportError(p, signer, e);
        }
        uint256 bond = sv.reportBond();
        _mint(by, bond);
        vm.prevrandao(randao);
        bytes memory data =
            abi.encodeCall(ServingVerification.report, (p, e.receipt, e.signature, e.request, e.response));
        if (err.length == 0) {
            uint256 eligible = _eligible(p, by);
            if (eligible < 3) {
                err = abi.encodeWithSelector(ServingVerification.NotEnoughValidators.selector, eligible, 3);
            }
        }
        if (!_call(by, address(sv), data, err)) {
            calls[kind == 4 ? "reportReplayRefused" : "reportRefused"]++;
            return;
        }
        bytes32 caseId = sv.receiptDigest(e.receipt);
        _caseIds.push(caseId);
        _evidence[caseId] = e;
        C storage c = _c[caseId];
        c.provider = p;
        c.reporter = by;
        c.bond = bond;
        c.commitDeadline = uint64(block.timestamp) + sv.commitPeriod();
        c.revealDeadline = c.commitDeadline + sv.revealPeriod();
        c.validators = sv.getCase(caseId).validators;
        for (uint256 s; s < 3; ++s) {
            address d = c.validators[s];
            // Drawn: three distinct active validators, neither the provider nor the reporter.
            assertTrue(_isActive(d), "drawn validator is staked at least the minimum");
            assertTrue(d != p && d != by, "drawn validator is neither provider nor reporter");
            assertTrue(d != c.validators[(s + 1) % 3], "drawn validators are distinct");
            _v[d].openCases++;
        }
        _p[p].openCases++;
        calls[by == p ? "selfReport" : _v[by].registered ? "reportByValidator" : "report"]++;
    }

    // ------------------------------------------------------------ votes

    /// @dev `kind` 0-2 (and mostly): a drawn validator commits its vote; 3: it commits another
    ///      seat's commitment (which it can then never reveal); 4: an account not drawn commits;
    ///      5: a zero commitment. One case id in sixteen is one no case has.
    function commitVote(uint256 caseSeed, uint256 actorSeed, uint256 kind, bool fraud) external useTime {
        (bytes32 caseId, bool exists) = _pickCase(caseSeed, 1);
        if (caseId == bytes32(0)) return;
        C storage c = _c[caseId];
        kind %= 12;
        if (kind > 5) kind %= 3;
        uint256 seat = _openSeat(c, actorSeed, false);
        address a = kind == 4 ? _undrawn(c, actorSeed) : exists ? c.validators[seat] : _actor(actorSeed);
        bytes32 commitment = keccak256(abi.encode(caseId, fraud, _salt(caseId, a), a));
        if (kind == 3) {
            bytes32 other = c.commitments[(seat + 1) % 3];
            if (other != bytes32(0)) commitment = other;
        }
        if (kind == 5) commitment = bytes32(0);
        bytes memory err;
        if (!exists) {
            err = abi.encodeWithSelector(ServingVerification.CaseNotFound.selector, caseId);
        } else if (c.outcome != 0) {
            err = abi.encodeWithSelector(ServingVerification.CaseAlreadyDecided.selector, caseId, c.outcome);
        } else if (block.timestamp >= c.commitDeadline) {
            err = abi.encodeWithSelector(ServingVerification.CommitClosed.selector, caseId, c.commitDeadline);
        } else if (commitment == bytes32(0)) {
            err = abi.encodeWithSelector(ServingVerification.ZeroCommitment.selector);
        } else if (kind == 4) {
            err = abi.encodeWithSelector(ServingVerification.NotDrawn.selector, caseId, a);
        } else if (c.commitments[seat] != bytes32(0)) {
            err = abi.encodeWithSelector(ServingVerification.AlreadyCommitted.selector, caseId, a);
        }
        if (!_call(a, address(sv), abi.encodeCall(ServingVerification.commitVote, (caseId, commitment)), err)) {
            calls[kind == 4 ? "commitNotDrawnRefused" : "commitRefused"]++;
            return;
        }
        c.commitments[seat] = commitment;
        c.vote[seat] = fraud;
        c.commits++;
        calls[kind == 3 ? "commitCopied" : "commit"]++;
    }

    /// @dev `kind` 0-2 (and mostly): a drawn validator reveals what it committed; 3: with a wrong
    ///      salt; 4: the other vote; 5: an account not drawn reveals.
    function revealVote(uint256 caseSeed, uint256 actorSeed, uint256 kind) external useTime {
        (bytes32 caseId, bool exists) = _pickCase(caseSeed, 2);
        if (caseId == bytes32(0)) return;
        C storage c = _c[caseId];
        kind %= 12;
        if (kind > 5) kind %= 3;
        uint256 seat = _openSeat(c, actorSeed, true);
        address a = kind == 5 ? _undrawn(c, actorSeed) : exists ? c.validators[seat] : _actor(actorSeed);
        bool fraud = kind == 4 ? !c.vote[seat] : c.vote[seat];
        bytes32 salt = kind == 3 ? keccak256(abi.encode("wrong", caseId, a)) : _salt(caseId, a);
        uint8 bit = uint8(1 << seat);
        bytes memory err;
        if (!exists) {
            err = abi.encodeWithSelector(ServingVerification.CaseNotFound.selector, caseId);
        } else if (c.outcome != 0) {
            err = abi.encodeWithSelector(ServingVerification.CaseAlreadyDecided.selector, caseId, c.outcome);
        } else if (c.commits < 3 && block.timestamp < c.commitDeadline) {
            err = abi.encodeWithSelector(ServingVerification.RevealNotOpen.selector, caseId, c.commitDeadline);
        } else if (block.timestamp >= c.revealDeadline) {
            err = abi.encodeWithSelector(ServingVerification.RevealClosed.selector, caseId, c.revealDeadline);
        } else if (kind == 5) {
            err = abi.encodeWithSelector(ServingVerification.NotDrawn.selector, caseId, a);
        } else if (c.commitments[seat] == bytes32(0)) {
            err = abi.encodeWithSelector(ServingVerification.NotCommitted.selector, caseId, a);
        } else if (c.revealedMask & bit != 0) {
            err = abi.encodeWithSelector(ServingVerification.AlreadyRevealed.selector, caseId, a);
        } else if (keccak256(abi.encode(caseId, fraud, salt, a)) != c.commitments[seat]) {
            err = abi.encodeWithSelector(ServingVerification.CommitmentMismatch.selector, caseId, a);
        }
        if (!_call(a, address(sv), abi.encodeCall(ServingVerification.revealVote, (caseId, fraud, salt)), err)) {
            calls[kind == 5 ? "revealNotDrawnRefused" : kind >= 3 ? "revealBadRefused" : "revealRefused"]++;
            return;
        }
        c.revealedMask |= bit;
        if (fraud) c.fraudMask |= bit;
        c.reveals++;
        calls["reveal"]++;
    }

    // ------------------------------------------------------------ verdicts

    function finalize(uint256 caseSeed, uint256 callerSeed) external useTime {
        (bytes32 caseId, bool exists) = _pickCase(caseSeed);
        if (caseId == bytes32(0)) return;
        C storage c = _c[caseId];
        bytes memory err;
        if (!exists) {
            err = abi.encodeWithSelector(ServingVerification.CaseNotFound.selector, caseId);
        } else if (c.outcome != 0) {
            err = abi.encodeWithSelector(ServingVerification.CaseAlreadyDecided.selector, caseId, c.outcome);
        } else if (!_decidable(c)) {
            err = abi.encodeWithSelector(ServingVerification.NotDecidable.selector, caseId, c.revealDeadline);
        }
        // Anyone may finalize: an actor, even one of the case's own parties.
        if (!_call(_actor(callerSeed), address(sv), abi.encodeCall(ServingVerification.finalize, (caseId)), err)) {
            calls[exists && c.outcome != 0 ? "finalizeTwiceRefused" : "finalizeRefused"]++;
            return;
        }
        _applyVerdict(c);
        calls[c.outcome == 1 ? "verdictFraud" : c.outcome == 2 ? "verdictHonest" : "verdictNoQuorum"]++;
    }

    // ------------------------------------------------------------ reputation, money out, time

    /// @dev Mostly a few passes; one call in eight any count a uint64 holds, one in eight a count
    ///      at the top of the counter (nothing stops a staked validator from attesting that).
    function attestPasses(uint256 actorSeed, uint256 providerSeed, uint256 count) external useTime {
        address a = _actor(actorSeed);
        address p = _actor(providerSeed);
        uint256 kind = count % 8;
        uint64 n = uint64(
            kind == 0
                ? type(uint64).max - (count >> 3) % 3
                : kind == 1 ? bound(count, 0, type(uint64).max) : bound(count, 0, 5)
        );
        bytes memory err;
        if (!_isActive(a)) err = abi.encodeWithSelector(ServingVerification.NotValidator.selector, a);
        else if (p == a) err = abi.encodeWithSelector(ServingVerification.SelfAttestation.selector, p);
        else if (!_p[p].registered) err = abi.encodeWithSelector(ServingVerification.ProviderNotRegistered.selector, p);
        else if (n == 0) err = abi.encodeWithSelector(ServingVerification.ZeroAmount.selector);
        else if (uint256(_p[p].passed) + n > type(uint64).max) err = abi.encodeWithSignature("Panic(uint256)", 0x11);
        if (!_call(a, address(sv), abi.encodeCall(ServingVerification.attestPasses, (p, n)), err)) return;
        _p[p].passed += n;
        calls["attestPasses"]++;
    }

    function withdrawEarnings(uint256 actorSeed, uint256 toSeed) external useTime {
        address a = _actor(actorSeed);
        address to = _actor(toSeed);
        uint256 amount = _earn[a];
        bytes memory err;
        if (amount == 0) err = abi.encodeWithSelector(ServingVerification.NothingToWithdraw.selector, a);
        uint256 before = usd.balanceOf(to);
        if (!_call(a, address(sv), abi.encodeCall(ServingVerification.withdrawEarnings, (to)), err)) return;
        assertEq(usd.balanceOf(to) - before, amount, "withdrawEarnings pays what was credited");
        _earn[a] = 0;
        calls["withdrawEarnings"]++;
    }

    /// @dev QuadraticFunding pulls the funding pool's share, as it does protocol fees.
    function collectFunding() external useTime {
        uint256 amount = _earn[address(qf)];
        assertEq(qf.collectProtocolFees(), amount, "the funding pool collects what it was credited");
        _earn[address(qf)] = 0;
    }

    /// @dev Mostly minutes (the fixture's commit phase is 1 h, reveal 2 h), one time in 32 up
    ///      to days (past the unstaking delays).
    function warp(uint256 seconds_) external {
        ++actions;
        currentTime += seconds_ % 32 == 0 ? bound(seconds_, 1 hours, 8 days) : bound(seconds_, 1, 20 minutes);
    }

    /// @dev Onto a case's boundaries: a second before or at its commit or its reveal deadline
    ///      (one call in six, so that most cases get their votes first).
    function warpToDeadline(uint256 caseSeed, uint256 which) external {
        ++actions;
        if (which % 6 != 0) return;
        which /= 6;
        (bytes32 caseId, bool exists) = _pickCase(caseSeed);
        if (!exists) return;
        C storage c = _c[caseId];
        uint256 t = (which % 2 == 0 ? c.commitDeadline : c.revealDeadline) - (which % 4 < 2 ? 1 : 0);
        if (t > currentTime) currentTime = t;
    }

    // ------------------------------------------------------------ the end of a run

    /// @notice Winds everything down the way the accounts could: every open case finalized once its
    ///         reveal phase is over, every validator and provider unstakes and withdraws all it
    ///         has, every account and the funding pool withdraw their earnings. Must all succeed.
    function drain() external {
        uint256 latest = currentTime;
        for (uint256 i; i < _caseIds.length; ++i) {
            C storage c = _c[_caseIds[i]];
            if (c.outcome == 0 && c.revealDeadline > latest) latest = c.revealDeadline;
        }
        currentTime = latest;
        vm.warp(currentTime);
        for (uint256 i; i < _caseIds.length; ++i) {
            C storage c = _c[_caseIds[i]];
            if (c.outcome != 0) continue;
            _call(_actors[0], address(sv), abi.encodeCall(ServingVerification.finalize, (_caseIds[i])), "");
            _applyVerdict(c);
        }
        for (uint256 i; i < _actors.length; ++i) {
            address a = _actors[i];
            vm.startPrank(a);
            if (_v[a].stake != 0) sv.requestValidatorUnstake(_v[a].stake);
            if (_p[a].stake != 0) registry.requestUnstake(_p[a].stake);
            vm.stopPrank();
        }
        currentTime += 8 days;
        vm.warp(currentTime);
        for (uint256 i; i < _actors.length; ++i) {
            address a = _actors[i];
            vm.startPrank(a);
            if (sv.getValidator(a).unstaking != 0) sv.withdrawValidatorStake();
            if (registry.getProvider(a).unstaking != 0) registry.withdrawStake();
            if (sv.earnings(a) != 0) sv.withdrawEarnings(a);
            vm.stopPrank();
        }
        qf.collectProtocolFees();
    }

    // ------------------------------------------------------------ views for the suite

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    function caseIds() external view returns (bytes32[] memory) {
        return _caseIds;
    }

    function modelValidator(address a) external view returns (V memory) {
        return _v[a];
    }

    function modelProvider(address a) external view returns (P memory) {
        return _p[a];
    }

    function modelEarnings(address a) external view returns (uint256) {
        return _earn[a];
    }

    function modelCase(bytes32 caseId) external view returns (C memory) {
        return _c[caseId];
    }

    /// @notice Whether the model has `a` in the drawn set: registered and staked at least the minimum.
    function modelActive(address a) external view returns (bool) {
        return _isActive(a);
    }

    // ------------------------------------------------------------ the rules of a verdict

    /// @dev What `finalize` must do to the model, from the NatSpec of `finalize`, `_judgeValidators`,
    ///      `_penalise` and `_settleFraud`: the outcome from the revealed votes; each drawn validator
    ///      released, its record kept and, when against the quorum or silent, 10% (the terms'
    ///      share) of its stake and unstaking taken, stake first; the provider released and, on
    ///      fraud, slashed (stake first, then unstaking) and suspended; every share credited.
    function _applyVerdict(C storage c) internal {
        uint256 fraudVotes = _popcount(c.fraudMask);
        uint256 honestVotes = c.reveals - fraudVotes;
        uint8 outcome = fraudVotes >= 2 ? 1 : honestVotes >= 2 ? 2 : 3;
        c.outcome = outcome;
        (address[3] memory majority, uint256 majorityCount, uint256 penalties) = _judgeValidators(c, outcome);
        P storage p = _p[c.provider];
        p.openCases--;
        uint256 pool;
        uint256 toFunding;
        if (outcome == 1) {
            (pool, toFunding) = _settleFraud(c, p);
            pool += penalties;
        } else if (outcome == 2) {
            uint256 toProvider = c.bond * sv.honestProviderBps() / BPS;
            _earn[c.provider] += toProvider;
            pool = c.bond - toProvider + penalties;
            // A soft counter: it saturates rather than blocking the verdict.
            if (p.passed != type(uint64).max) p.passed++;
        } else {
            _earn[c.reporter] += c.bond;
            toFunding = penalties;
        }
        if (pool != 0) {
            uint256 each = pool / majorityCount;
            for (uint256 i; i < majorityCount; ++i) {
                _earn[majority[i]] += each;
            }
            toFunding += pool - each * majorityCount;
        }
        _earn[address(qf)] += toFunding;
    }

    /// @dev Each drawn validator released; its record kept; penalised when against the quorum or silent.
    function _judgeValidators(C storage c, uint8 outcome)
        internal
        returns (address[3] memory majority, uint256 majorityCount, uint256 penalties)
    {
        for (uint256 s; s < 3; ++s) {
            address a = c.validators[s];
            V storage v = _v[a];
            v.openCases--;
            uint8 bit = uint8(1 << s);
            bool penalise;
            if (c.revealedMask & bit == 0) {
                // Committed, but decided early (too few commitments) before it could reveal: spared.
                if (c.commitments[s] != bytes32(0) && block.timestamp < c.revealDeadline) continue;
                v.missed++;
                penalise = true;
            } else if (outcome != 3) {
                if ((c.fraudMask & bit != 0) == (outcome == 1)) {
                    v.agreed++;
                    majority[majorityCount++] = a;
                } else {
                    v.disagreed++;
                    penalise = true;
                }
            }
            if (penalise) {
                uint256 amount = Math.mulDiv(v.stake + v.unstaking, sv.validatorPenaltyBps(), BPS);
                uint256 fromStake = amount < v.stake ? amount : v.stake;
                v.stake -= fromStake;
                v.unstaking -= amount - fromStake;
                penalties += amount;
            }
        }
    }

    /// @dev The provider slashed (stake first, then unstaking) and suspended; the reporter paid its
    ///      bond and share. Returns the validators' share and the funding share.
    function _settleFraud(C storage c, P storage p) internal returns (uint256 toValidators, uint256 toFunding) {
        c.slashableAtVerdict = p.stake + p.unstaking;
        uint256 slashed = Math.mulDiv(c.slashableAtVerdict, sv.slashBps(), BPS);
        uint256 fromStake = slashed < p.stake ? slashed : p.stake;
        p.stake -= fromStake;
        p.unstaking -= slashed - fromStake;
        if (p.unstaking == 0) p.readyAt = 0;
        p.slashed += slashed;
        p.suspended = true;
        p.failed++;
        c.slashed = slashed;
        uint256 toReporter = Math.mulDiv(slashed, sv.reporterBps(), BPS);
        toValidators = Math.mulDiv(slashed, sv.validatorBps(), BPS);
        _earn[c.reporter] += c.bond + toReporter;
        toFunding = slashed - toReporter - toValidators;
    }

    // ------------------------------------------------------------ internal

    /// @dev Calls `target` as `from` and requires exactly `err` (empty: success). Returns whether
    ///      it succeeded. An unexpected revert is re-thrown as it came, so the run shows it.
    function _call(address from, address target, bytes memory data, bytes memory err) internal returns (bool) {
        vm.prank(from);
        (bool ok, bytes memory ret) = target.call(data);
        if (err.length == 0) {
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 32), mload(ret))
                }
            }
            return true;
        }
        assertFalse(ok, "a call the rules refuse succeeded");
        assertEq(ret, err, "refused with the documented error and arguments");
        return false;
    }

    /// @dev A stake to register with: mostly from just below `min` to `MAX_AMOUNT`; once per run,
    ///      one time in sixteen, `WHALE_AMOUNT`.
    function _stakeAmount(uint256 seed, uint256 min) internal returns (uint256) {
        if (seed % 16 == 15 && !_whaleMinted) {
            _whaleMinted = true;
            calls["whale"]++;
            return WHALE_AMOUNT;
        }
        return bound(seed, min - 1, MAX_AMOUNT);
    }

    function _mint(address to, uint256 amount) internal {
        usd.mint(to, amount);
        ghostMinted += amount;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % _actors.length];
    }

    function _isActive(address a) internal view returns (bool) {
        return _v[a].registered && _v[a].stake >= sv.minValidatorStake();
    }

    /// @dev Validators a case against `p` reported by `by` could draw.
    function _eligible(address p, address by) internal view returns (uint256 n) {
        for (uint256 i; i < _actors.length; ++i) {
            address a = _actors[i];
            if (_isActive(a) && a != p && a != by) ++n;
        }
    }

    function _registeredProvider(uint256 seed) internal view returns (address) {
        for (uint256 k; k < _actors.length; ++k) {
            address a = _actor(seed % _actors.length + k);
            if (_p[a].registered) return a;
        }
        return _actor(seed); // none: the report is refused as unregistered
    }

    function _unregisteredProvider(uint256 seed) internal view returns (address) {
        for (uint256 k; k < _actors.length; ++k) {
            address a = _actor(seed % _actors.length + k);
            if (!_p[a].registered) return a;
        }
        return address(0);
    }

    /// @dev An actor not drawn in `c` (one always exists: more actors than seats).
    function _undrawn(C storage c, uint256 seed) internal view returns (address a) {
        for (uint256 k; k < _actors.length; ++k) {
            a = _actor(seed % _actors.length + k);
            if (a != c.validators[0] && a != c.validators[1] && a != c.validators[2]) return a;
        }
    }

    /// @dev The seat from `seed` on still to commit (or, `revealing`, committed and not revealed), if any.
    function _openSeat(C storage c, uint256 seed, bool revealing) internal view returns (uint256 seat) {
        seat = seed % 3;
        for (uint256 k; k < 3; ++k) {
            uint256 s = (seed % 3 + k) % 3;
            bool open = revealing
                ? c.commitments[s] != bytes32(0) && c.revealedMask & uint8(1 << s) == 0
                : c.commitments[s] == bytes32(0);
            if (open) return s;
        }
    }

    /// @dev Mostly an open case, so cases get their votes; one time in eight any case (decided
    ///      ones are tried again); one in sixteen an id no case has.
    function _pickCase(uint256 seed) internal view returns (bytes32 caseId, bool exists) {
        return _pickCase(seed, 0);
    }

    /// @dev As `_pickCase(seed)`, preferring (`phase` 1) a case a drawn validator can still commit
    ///      to, or (`phase` 2) one with a commitment that can be revealed now.
    function _pickCase(uint256 seed, uint256 phase) internal view returns (bytes32 caseId, bool exists) {
        uint256 n = _caseIds.length;
        if (seed % 16 == 1) return (keccak256(abi.encode("no such case", seed)), false);
        if (n == 0) return (bytes32(0), false);
        if (seed % 8 == 0) return (_caseIds[(seed >> 4) % n], true);
        uint256 start = seed % n;
        bytes32 open;
        for (uint256 k; k < n; ++k) {
            caseId = _caseIds[(start + k) % n];
            C storage c = _c[caseId];
            if (c.outcome != 0) continue;
            if (open == bytes32(0)) open = caseId;
            if (phase == 0) return (caseId, true);
            if (phase == 1 && block.timestamp < c.commitDeadline && c.commits < 3) return (caseId, true);
            bool revealing =
                (c.commits == 3 || block.timestamp >= c.commitDeadline) && block.timestamp < c.revealDeadline;
            if (phase == 2 && revealing && c.reveals < c.commits) return (caseId, true);
        }
        return (open != bytes32(0) ? open : _caseIds[start], true);
    }

    function _openCases() internal view returns (uint256 n) {
        for (uint256 i; i < _caseIds.length; ++i) {
            if (_c[_caseIds[i]].outcome == 0) ++n;
        }
    }

    function _decidable(C storage c) internal view returns (bool) {
        return
            c.reveals == 3 || block.timestamp >= c.revealDeadline
                || (block.timestamp >= c.commitDeadline && c.commits < 2);
    }

    function _salt(bytes32 caseId, address a) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", caseId, a));
    }

    function _popcount(uint8 mask) internal pure returns (uint256) {
        return (mask & 1) + ((mask >> 1) & 1) + ((mask >> 2) & 1);
    }

    /// @dev Fresh evidence: a receipt naming `p`'s channel, its plaintext, signed by `signer`'s key.
    function _newEvidence(address p, address signer) internal returns (Evidence memory e) {
        uint256 n = ++_nonce;
        e.request = abi.encodePacked('{"model":"stories260K","temperature":0,"seed":', vm.toString(n), "}");
        e.response = abi.encodePacked("answer ", vm.toString(n));
        e.receipt = ServingVerification.ReceiptData({
            requestId: keccak256(abi.encode("request", n)),
            channelId: keccak256(abi.encode("channel", p)),
            weightsHash: keccak256("stories260K weights"),
            inputTokens: uint64(n % 500 + 1),
            outputTokens: uint64(n % 300 + 1),
            cost: 230 + n,
            cumulativeOwed: 230 * n,
            requestHash: sha256(e.request),
            responseHash: sha256(e.response)
        });
        e.signature = signDigest(_keys[signer], sv.receiptDigest(e.receipt));
    }

    /// @dev The error `report` must give for evidence against `p` signed by `signer`, in the order
    ///      it checks (empty: none).
    function _reportError(address p, address signer, Evidence memory e) internal view returns (bytes memory) {
        if (!_p[p].registered) return abi.encodeWithSelector(ServingVerification.ProviderNotRegistered.selector, p);
        if (signer != p) return abi.encodeWithSelector(ServingVerification.InvalidSignature.selector, p, signer);
        bytes32 responseHash = sha256(e.response);
        if (responseHash != e.receipt.responseHash) {
            return abi.encodeWithSelector(
                ServingVerification.ResponseHashMismatch.selector, e.receipt.responseHash, responseHash
            );
        }
        return "";
    }
}
