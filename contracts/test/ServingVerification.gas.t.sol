// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {VerificationFixture} from "./utils/VerificationFixture.sol";
import {ServingVerification} from "../src/ServingVerification.sol";

/// @notice Gas of each call of a verification case, as a transaction pays it: `report` (five staked
///         validators to draw from), a validator's `commitVote` and `revealVote`, and `finalize`
///         of a fraud verdict (slash, suspend, split) and of an honest one (bond split). `setUp`
///         brings one case to the stage each test needs, so every measured call starts a fresh
///         transaction (fresh access lists and original values), as on a node. Earnings slots are
///         untouched before each verdict (zero to non-zero: the dearest case). Each figure is
///         bounded by a ceiling a little above what was measured here, so a change that makes a
///         call dearer fails; the README's gas table shows the transaction figures. Run with `-vv`
///         to see them.
/// @dev Each call runs as its own transaction (`isolate`): without it the figures of `report` and
///      of a fraud `finalize` came out 9,600 and 4,800 gas above what the same calls, in the same
///      state, used on an Anvil node (checked once with a throwaway viem script); with it they
///      match to the calldata's few zero bytes.
/// forge-config: default.isolate = true
contract ServingVerificationGasTest is VerificationFixture {
    /// @dev Forge prints these in a test's logs.
    event log_named_uint(string key, uint256 val);

    /// @dev Ceilings on transaction gas: what was measured here, plus about 2%.
    uint256 internal constant REPORT_TX_GAS_CEILING = 251_400; // 246,430 measured
    uint256 internal constant REPORT_2KB_TX_GAS_CEILING = 300_800; // 294,858 measured
    uint256 internal constant COMMIT_TX_GAS_CEILING = 57_500; // 56,325 measured
    uint256 internal constant REVEAL_TX_GAS_CEILING = 48_200; // 47,244 measured
    uint256 internal constant FINALIZE_FRAUD_TX_GAS_CEILING = 336_500; // 329,824 measured
    uint256 internal constant FINALIZE_HONEST_TX_GAS_CEILING = 215_900; // 211,605 measured

    /// @dev Plaintext bytes of the larger evidence: a 1 KB request and a 1 KB answer, about what
    ///      a challenge prompt and its answer weigh (the fixture's evidence is under 100 bytes).
    uint256 internal constant LARGE_PLAINTEXT = 1024;

    /// @dev Intrinsic gas of a transaction and of its calldata bytes (EIP-2028).
    uint256 internal constant TX_BASE_GAS = 21_000;
    uint256 internal constant ZERO_BYTE_GAS = 4;
    uint256 internal constant NON_ZERO_BYTE_GAS = 16;

    /// @dev What a CALL to a cold account costs beyond a warm one (EIP-2929).
    uint256 internal constant COLD_ACCOUNT_EXTRA_GAS = 2_600 - 100;

    /// @dev Reported, nobody has voted yet.
    bytes32 internal freshCase;
    /// @dev All three committed, two revealed: the third reveal is measured.
    bytes32 internal revealingCase;
    /// @dev All three revealed fraud (against `provider`).
    bytes32 internal fraudCase;
    /// @dev All three revealed honest (against `provider2`).
    bytes32 internal honestCase;

    /// @dev Read in `setUp`: reading them from `sv` in the test would warm the case's slots.
    address[3] internal freshDrawn;
    address[3] internal revealingDrawn;
    /// @dev The measured report's calldata and case, built (and its bond approved) in `setUp`, so
    ///      the token's balance and allowance slots are as cold as in a real transaction.
    bytes internal reportCall;
    bytes32 internal reportedCase;
    /// @dev The same with 2 KB of plaintext.
    bytes internal largeReportCall;
    bytes32 internal largeReportedCase;

    function setUp() public override {
        super.setUp();
        freshCase = _report();
        freshDrawn = _drawn(freshCase);
        revealingCase = _report();
        address[3] memory drawn = _drawn(revealingCase);
        revealingDrawn = drawn;
        for (uint256 i; i < 3; ++i) {
            _commit(revealingCase, drawn[i], true);
        }
        _reveal(revealingCase, drawn[0], true);
        _reveal(revealingCase, drawn[1], true);
        fraudCase = _report();
        _vote(fraudCase, [true, true, true]);
        honestCase = _reportAs(reporter, provider2, provider2Key);
        _vote(honestCase, [false, false, false]);

        (ServingVerification.ReceiptData memory r, bytes memory request, bytes memory response) = _receipt();
        reportCall =
            abi.encodeCall(ServingVerification.report, (provider, r, _signReceipt(providerKey, r), request, response));
        reportedCase = _digest(r);
        (r,,) = _receipt();
        request = _text(LARGE_PLAINTEXT, "q");
        response = _text(LARGE_PLAINTEXT, "a");
        r.requestHash = sha256(request);
        r.responseHash = sha256(response);
        largeReportCall =
            abi.encodeCall(ServingVerification.report, (provider, r, _signReceipt(providerKey, r), request, response));
        largeReportedCase = _digest(r);
        _fundBond(reporter); // one bond: each test reports once
    }

    /// @dev `length` bytes of `fill` (never zero bytes, as text is not).
    function _text(uint256 length, bytes1 fill) internal pure returns (bytes memory text) {
        text = new bytes(length);
        for (uint256 i; i < length; ++i) {
            text[i] = fill;
        }
    }

    // ------------------------------------------------------------ measuring

    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? ZERO_BYTE_GAS : NON_ZERO_BYTE_GAS;
        }
    }

    /// @dev Gas a call of `target` with `data` uses as seen from here (return data is not copied,
    ///      so the figure does not depend on it).
    function _callGas(address target, bytes memory data) internal returns (uint256 used, bool ok) {
        assembly ("memory-safe") {
            let before := gas()
            ok := call(gas(), target, 0, add(data, 0x20), mload(data), 0, 0)
            used := sub(before, gas())
        }
    }

    /// @dev What measuring a call costs beyond the callee's own execution: the same call, with the
    ///      same calldata, to a warm account whose code is a single STOP, less the warm access.
    function _callOverhead(bytes memory data) internal returns (uint256) {
        address stop = makeAddr("stop");
        vm.etch(stop, hex"00");
        _callGas(stop, data); // warm it
        (uint256 used,) = _callGas(stop, data);
        return used - 100;
    }

    /// @dev Calls the verifier as `from` and returns the transaction gas: its own execution
    ///      (`sv` was cold, as a transaction's `to` is not charged for), the base cost and the calldata.
    function _txGas(address from, bytes memory data, string memory label) internal returns (uint256 txGas) {
        uint256 overhead = _callOverhead(data);
        vm.prank(from);
        (uint256 used, bool ok) = _callGas(address(sv), data);
        assertTrue(ok, string.concat(label, " succeeded"));
        uint256 execution = used - overhead - 100 - COLD_ACCOUNT_EXTRA_GAS;
        txGas = execution + TX_BASE_GAS + _calldataGas(data);
        emit log_named_uint(string.concat(label, " execution gas"), execution);
        emit log_named_uint(string.concat(label, " transaction gas"), txGas);
    }

    // ------------------------------------------------------------ per call

    function test_report_gas() public {
        uint256 txGas = _txGas(reporter, reportCall, "report");
        assertEq(sv.getCase(reportedCase).bond, REPORT_BOND, "case opened with its bond");
        assertLe(txGas, REPORT_TX_GAS_CEILING, "report stays near what it was");
    }

    function test_report_gasOf2KBEvidence() public {
        uint256 txGas = _txGas(reporter, largeReportCall, "report (2 KB evidence)");
        assertEq(sv.getCase(largeReportedCase).bond, REPORT_BOND, "case opened with its bond");
        assertLe(txGas, REPORT_2KB_TX_GAS_CEILING, "report of 2 KB evidence stays near what it was");
    }

    function test_commitVote_gas() public {
        address v = freshDrawn[0];
        bytes memory data = abi.encodeCall(
            ServingVerification.commitVote, (freshCase, _commitment(freshCase, true, _salt(v, freshCase), v))
        );
        uint256 txGas = _txGas(v, data, "commitVote");
        assertEq(sv.getCase(freshCase).commits, 1, "committed");
        assertLe(txGas, COMMIT_TX_GAS_CEILING, "commitVote stays near what it was");
    }

    function test_revealVote_gas() public {
        address v = revealingDrawn[2];
        bytes memory data =
            abi.encodeCall(ServingVerification.revealVote, (revealingCase, true, _salt(v, revealingCase)));
        uint256 txGas = _txGas(v, data, "revealVote");
        assertEq(sv.getCase(revealingCase).reveals, 3, "revealed");
        assertLe(txGas, REVEAL_TX_GAS_CEILING, "revealVote stays near what it was");
    }

    function test_finalize_fraud_gas() public {
        bytes memory data = abi.encodeCall(ServingVerification.finalize, (fraudCase));
        uint256 txGas = _txGas(stranger, data, "finalize (fraud)");
        assertEq(sv.getCase(fraudCase).outcome, sv.OUTCOME_FRAUD(), "fraud verdict");
        assertEq(providers.getProvider(provider).slashed, PROVIDER_STAKE, "slashed");
        assertLe(txGas, FINALIZE_FRAUD_TX_GAS_CEILING, "finalize (fraud) stays near what it was");
    }

    function test_finalize_honest_gas() public {
        bytes memory data = abi.encodeCall(ServingVerification.finalize, (honestCase));
        uint256 txGas = _txGas(stranger, data, "finalize (honest)");
        assertEq(sv.getCase(honestCase).outcome, sv.OUTCOME_HONEST(), "honest verdict");
        assertLe(txGas, FINALIZE_HONEST_TX_GAS_CEILING, "finalize (honest) stays near what it was");
    }
}
