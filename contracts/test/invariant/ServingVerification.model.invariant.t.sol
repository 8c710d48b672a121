// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {VerificationFixture} from "../utils/VerificationFixture.sol";
import {ServingVerification} from "../../src/ServingVerification.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {ServingVerificationModelHandler} from "./handlers/ServingVerificationModelHandler.sol";

/// @dev The one environment cheatcode this suite reads (the in-house Vm declares none).
interface EnvVm {
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256);
}

/// @notice ServingVerification and ProviderRegistry against a model of their rules, with nine
///         accounts that may each be validator, provider and reporter at once (so the draw's
///         exclusions, self-reports, validators reporting and too few eligible validators all
///         happen), votes by accounts not drawn, copied commitments, wrong salts and flipped votes,
///         finalize before, at and after each deadline, and attestations up to the top of the
///         counter. After every call the contracts' whole state must equal the model's, every
///         token must be where the model says, and every open case must be decidable once its
///         reveal phase is over; at the end of each run everyone withdraws everything and both
///         contracts must be left holding nothing. Complements ServingVerification.invariant.t.sol
///         (fixed roles, verdict shares checked per call). Runs at foundry.toml's `[invariant]`
///         size, checking the whole model every 8th action and at the end of every run; a longer
///         hunt is `SV_MODEL_CHECK_EVERY=1 FOUNDRY_INVARIANT_RUNS=1000 FOUNDRY_INVARIANT_DEPTH=400`.
contract ServingVerificationModelInvariantTest is VerificationFixture {
    ServingVerificationModelHandler internal handler;
    /// @dev Check the whole model after every `checkEvery`-th action (env `SV_MODEL_CHECK_EVERY`, default 8).
    uint256 internal checkEvery;

    function setUp() public override {
        super.setUp();
        address[] memory actors = new address[](VALIDATOR_COUNT + 4);
        uint256[] memory keys = new uint256[](actors.length);
        (actors[0], keys[0]) = (provider, providerKey);
        (actors[1], keys[1]) = (provider2, provider2Key);
        for (uint256 i; i < VALIDATOR_COUNT; ++i) {
            (actors[2 + i], keys[2 + i]) = makeAddrAndKey(string.concat("validator", vm.toString(i)));
            assertEq(actors[2 + i], validatorAccounts[i], "the fixture's validator");
        }
        (actors[VALIDATOR_COUNT + 2], keys[VALIDATOR_COUNT + 2]) = makeAddrAndKey("reporter");
        (actors[VALIDATOR_COUNT + 3], keys[VALIDATOR_COUNT + 3]) = makeAddrAndKey("stranger");
        handler = new ServingVerificationModelHandler(sv, qf, modelId, actors, keys, START_TIME);
        checkEvery = EnvVm(address(vm)).envOr("SV_MODEL_CHECK_EVERY", uint256(8));
        if (checkEvery == 0) checkEvery = 1;

        bytes4[] memory selectors = new bytes4[](28);
        selectors[0] = ServingVerificationModelHandler.registerValidator.selector;
        selectors[1] = ServingVerificationModelHandler.addValidatorStake.selector;
        selectors[2] = ServingVerificationModelHandler.requestValidatorUnstake.selector;
        selectors[3] = ServingVerificationModelHandler.withdrawValidatorStake.selector;
        selectors[4] = ServingVerificationModelHandler.registerProvider.selector;
        selectors[5] = ServingVerificationModelHandler.addProviderStake.selector;
        selectors[6] = ServingVerificationModelHandler.requestProviderUnstake.selector;
        selectors[7] = ServingVerificationModelHandler.withdrawProviderStake.selector;
        selectors[8] = ServingVerificationModelHandler.attestPasses.selector;
        selectors[9] = ServingVerificationModelHandler.withdrawEarnings.selector;
        selectors[10] = ServingVerificationModelHandler.collectFunding.selector;
        selectors[11] = ServingVerificationModelHandler.warp.selector;
        selectors[12] = ServingVerificationModelHandler.warpToDeadline.selector;
        // A case needs three commits and three reveals before its deadlines: weight them (and
        // reports, finalize and small steps of time) so cases reach every kind of verdict rather
        // than mostly expiring.
        for (uint256 i; i < 5; ++i) {
            selectors[13 + i] = ServingVerificationModelHandler.commitVote.selector;
            selectors[18 + i] = ServingVerificationModelHandler.revealVote.selector;
        }
        selectors[23] = ServingVerificationModelHandler.report.selector;
        selectors[24] = ServingVerificationModelHandler.report.selector;
        selectors[25] = ServingVerificationModelHandler.finalize.selector;
        selectors[26] = ServingVerificationModelHandler.finalize.selector;
        selectors[27] = ServingVerificationModelHandler.warp.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    // ------------------------------------------------------------ invariants

    /// @notice After every call: tokens conserved, validators, providers and cases as the rules
    ///         make them, every open case decidable once its reveal phase is over. One campaign
    ///         checks them all (each `invariant_` function would be a campaign of its own); each
    ///         check's messages name what broke.
    function invariant_contractsMatchTheModel() public {
        // The model is the contracts' whole persistent state, so a difference stays until checked:
        // checking every few actions (and at the end of every run) finds what checking every one
        // would, and keeps the default run fast. SV_MODEL_CHECK_EVERY=1 checks after each action.
        if (handler.actions() % checkEvery != 0) return;
        _checkAll();
    }

    function _checkAll() internal {
        _checkTokensConserved();
        _checkValidatorsAndEarnings();
        _checkProviders();
        _checkCases();
        _checkEveryOpenCaseDecidableAfterRevealDeadline();
    }

    // ------------------------------------------------------------ checks

    /// @notice Nothing is created or lost, to the base unit: the token's supply is what was there
    ///         at the start plus what the handler minted, and all of it sits with the accounts, the
    ///         funding pool and the two contracts; the registry holds exactly its providers' stake
    ///         and unstaking, the verifier exactly its validators' stake and unstaking, every
    ///         unwithdrawn earning and the bonds of open cases.
    function _checkTokensConserved() internal view {
        address[] memory actors = handler.actors();
        uint256 supply = usd.totalSupply();
        _eq(supply, handler.initialSupply() + handler.ghostMinted(), "supply == start + minted");
        uint256 held = usd.balanceOf(address(sv)) + usd.balanceOf(address(providers)) + usd.balanceOf(address(qf))
            + usd.balanceOf(address(channels));
        uint256 providerLedger;
        uint256 verifierLedger = sv.earnings(address(qf));
        for (uint256 i; i < actors.length; ++i) {
            address a = actors[i];
            held += usd.balanceOf(a);
            ProviderRegistry.Provider memory p = providers.getProvider(a);
            providerLedger += p.stake + p.unstaking;
            ServingVerification.Validator memory v = sv.getValidator(a);
            verifierLedger += v.stake + v.unstaking + sv.earnings(a);
        }
        bytes32[] memory ids = handler.caseIds();
        for (uint256 i; i < ids.length; ++i) {
            ServingVerification.Case memory c = sv.getCase(ids[i]);
            if (c.outcome == 0) verifierLedger += c.bond;
        }
        _eq(held, supply, "every token is with an account, the pool or a contract");
        _eq(usd.balanceOf(address(providers)), providerLedger, "registry holds sum(stake + unstaking)");
        _eq(usd.balanceOf(address(sv)), verifierLedger, "verifier holds stakes + earnings + open bonds");
    }

    /// @notice Every validator's registration, stake, unstaking, delay, open cases and record
    ///         (agreed, disagreed, missed) are what the rules make them; it is drawn exactly when
    ///         registered with at least the minimum staked; every account's earnings are as credited.
    function _checkValidatorsAndEarnings() internal view {
        address[] memory actors = handler.actors();
        uint256 active;
        for (uint256 i; i < actors.length; ++i) {
            address a = actors[i];
            ServingVerification.Validator memory v = sv.getValidator(a);
            ServingVerificationModelHandler.V memory m = handler.modelValidator(a);
            _eq(v.registered, m.registered, "validator registered");
            _eq(v.stake, m.stake, "validator stake");
            _eq(v.unstaking, m.unstaking, "validator unstaking");
            _eq(v.unstakeReadyAt, m.readyAt, "validator unstake ready at");
            _eq(v.openCases, m.openCases, "validator open cases");
            _eq(v.agreed, m.agreed, "validator agreed");
            _eq(v.disagreed, m.disagreed, "validator disagreed");
            _eq(v.missed, m.missed, "validator missed");
            _eq(sv.isValidator(a), handler.modelActive(a), "drawn set == registered with the minimum staked");
            if (handler.modelActive(a)) ++active;
            _eq(sv.earnings(a), handler.modelEarnings(a), "earnings as credited");
        }
        _eq(sv.validators().length, active, "no one else in the drawn set");
        _eq(sv.earnings(address(qf)), handler.modelEarnings(address(qf)), "funding pool's earnings");
    }

    /// @notice Every provider's stake, unstaking, open cases and suspension in the registry, and
    ///         its record in the verifier, are what the rules make them: slashed only by fraud
    ///         verdicts, at most once per case and never more than it had staked and unstaking then;
    ///         suspended exactly when a fraud verdict hit it, and then neither active nor offering.
    function _checkProviders() internal view {
        address[] memory actors = handler.actors();
        uint256 totalSlashed;
        for (uint256 i; i < actors.length; ++i) {
            address a = actors[i];
            ProviderRegistry.Provider memory p = providers.getProvider(a);
            ServingVerificationModelHandler.P memory m = handler.modelProvider(a);
            _eq(p.registered, m.registered, "provider registered");
            _eq(p.stake, m.stake, "provider stake");
            _eq(p.unstaking, m.unstaking, "provider unstaking");
            _eq(p.unstakeReadyAt, m.readyAt, "provider unstake ready at");
            _eq(p.openCases, m.openCases, "provider open cases (frozen)");
            _eq(p.slashed, m.slashed, "provider slashed");
            _eq(p.suspended, m.suspended, "provider suspended");
            (uint64 passed, uint64 failed, uint256 slashedAmount, bool suspended) = sv.providerRecord(a);
            _eq(passed, m.passed, "record: challenges passed (honest verdicts + attested)");
            _eq(failed, m.failed, "record: challenges failed (fraud verdicts)");
            _eq(slashedAmount, p.slashed, "record's slashed == registry's");
            _eq(suspended, p.suspended, "record's suspended == registry's");
            _eq(suspended, failed != 0, "suspended exactly when a fraud verdict hit it");
            _eq(providers.isActive(a), p.registered && !p.suspended && p.stake >= MIN_STAKE, "active");
            if (p.suspended) _false(providers.hasOffer(a, modelId), "a suspended provider's offer is unusable");
            totalSlashed += p.slashed;
        }
        _eq(providers.totalSlashed(), totalSlashed, "total slashed == sum of providers'");

        bytes32[] memory ids = handler.caseIds();
        uint256 slashedByCases;
        for (uint256 i; i < ids.length; ++i) {
            ServingVerificationModelHandler.C memory m = handler.modelCase(ids[i]);
            if (m.outcome != 1) _eq(m.slashed, 0, "no slash without a fraud verdict");
            _le(m.slashed, m.slashableAtVerdict, "a slash never exceeds the stake");
            slashedByCases += m.slashed;
        }
        _eq(totalSlashed, slashedByCases, "every slash is one fraud verdict's");
    }

    /// @notice Every case is as its votes made it: only the drawn validators' commitments and
    ///         reveals count (commits, reveals and both masks equal what the handler's drawn
    ///         voters did), it is decided at most once and its verdict never changes, and its bond
    ///         and deadlines are as reported.
    function _checkCases() internal view {
        bytes32[] memory ids = handler.caseIds();
        for (uint256 i; i < ids.length; ++i) {
            ServingVerification.Case memory c = sv.getCase(ids[i]);
            ServingVerificationModelHandler.C memory m = handler.modelCase(ids[i]);
            _eq(c.outcome, m.outcome, "verdict as first decided, never changed");
            _eq(c.provider, m.provider, "case provider");
            _eq(c.reporter, m.reporter, "case reporter");
            _eq(c.bond, m.bond, "case bond");
            _eq(c.commitDeadline, m.commitDeadline, "commit deadline");
            _eq(c.revealDeadline, m.revealDeadline, "reveal deadline");
            _eq(c.commits, m.commits, "only drawn validators' commitments count");
            _eq(c.reveals, m.reveals, "only drawn validators' reveals count");
            _eq(c.revealedMask, m.revealedMask, "revealed seats");
            _eq(c.fraudMask, m.fraudMask, "fraud votes");
            for (uint256 s; s < 3; ++s) {
                _eq(c.validators[s], m.validators[s], "drawn validators never change");
                _eq(c.commitments[s], m.commitments[s], "commitments");
            }
        }
    }

    /// @notice No case can be stuck: once its reveal phase is over, `finalize` succeeds for every
    ///         open case, one after the other, whoever calls it (tried on a snapshot, then undone).
    function _checkEveryOpenCaseDecidableAfterRevealDeadline() internal {
        bytes32[] memory ids = handler.caseIds();
        uint256 snapshot = vm.snapshotState();
        uint256 latest = handler.currentTime();
        for (uint256 i; i < ids.length; ++i) {
            ServingVerification.Case memory c = sv.getCase(ids[i]);
            if (c.outcome == 0 && c.revealDeadline > latest) latest = c.revealDeadline;
        }
        vm.warp(latest);
        for (uint256 i; i < ids.length; ++i) {
            if (sv.getCase(ids[i]).outcome != 0) continue;
            vm.prank(stranger);
            (bool ok, bytes memory ret) = address(sv).call(abi.encodeCall(ServingVerification.finalize, (ids[i])));
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 32), mload(ret))
                }
            }
            _true(sv.getCase(ids[i]).outcome != 0, "decided");
        }
        vm.revertToState(snapshot);
    }

    // ------------------------------------------------------------ assertions
    // The checks run after every call and make hundreds of comparisons each: these call the VM's
    // assertion (which reports the values) only when a comparison fails, which keeps a run several
    // times faster than asserting each one.

    function _eq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) assertEq(a, b, what);
    }

    function _eq(bool a, bool b, string memory what) internal pure {
        if (a != b) assertEq(a, b, what);
    }

    function _eq(address a, address b, string memory what) internal pure {
        if (a != b) assertEq(a, b, what);
    }

    function _eq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) assertEq(a, b, what);
    }

    function _le(uint256 a, uint256 b, string memory what) internal pure {
        if (a > b) assertLe(a, b, what);
    }

    function _true(bool condition, string memory what) internal pure {
        if (!condition) assertTrue(condition, what);
    }

    function _false(bool condition, string memory what) internal pure {
        if (condition) assertFalse(condition, what);
    }

    event log_named_uint(string key, uint256 val);

    /// @notice At the end of each run every case is finalized and everyone withdraws everything it
    ///         can: both contracts are then left holding nothing, every earning is zero, and every
    ///         token is with the accounts and the funding pool.
    function afterInvariant() public {
        string[21] memory counted = [
            "whale",
            "report",
            "commitRefused",
            "revealRefused",
            "selfReport",
            "reportByValidator",
            "reportRefused",
            "reportReplayRefused",
            "commit",
            "commitCopied",
            "commitNotDrawnRefused",
            "reveal",
            "revealBadRefused",
            "revealNotDrawnRefused",
            "verdictFraud",
            "verdictHonest",
            "verdictNoQuorum",
            "finalizeRefused",
            "attestPasses",
            "withdrawValidatorStake",
            "withdrawProviderStake"
        ];
        for (uint256 i; i < counted.length; ++i) {
            emit log_named_uint(counted[i], handler.calls(counted[i]));
        }
        _checkAll();
        handler.drain();
        assertEq(usd.balanceOf(address(sv)), 0, "verifier left holding nothing");
        assertEq(usd.balanceOf(address(providers)), 0, "registry left holding nothing");
        address[] memory actors = handler.actors();
        uint256 held = usd.balanceOf(address(qf)) + usd.balanceOf(address(channels));
        for (uint256 i; i < actors.length; ++i) {
            assertEq(sv.earnings(actors[i]), 0, "every earning withdrawn");
            held += usd.balanceOf(actors[i]);
        }
        assertEq(sv.earnings(address(qf)), 0, "funding share collected");
        assertEq(held, usd.totalSupply(), "every token with an account or the pool");
        assertEq(
            usd.totalSupply(), handler.initialSupply() + handler.ghostMinted(), "nothing minted but by the handler"
        );
    }
}
