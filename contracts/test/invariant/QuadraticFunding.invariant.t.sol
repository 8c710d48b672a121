// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {InvariantTest} from "./InvariantTest.sol";
import {TestToken} from "../../src/TestToken.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {QuadraticFunding} from "../../src/QuadraticFunding.sol";
import {X402Splitter, IPaymentTerms} from "../../src/X402Splitter.sol";
import {IProtocolFeeSource} from "../../src/funding/IProtocolFeeSource.sol";
import {QuadraticFundingHandler} from "./handlers/QuadraticFundingHandler.sol";

/// @notice Invariants of QuadraticFunding under random sequences of every user action, with the
///         protocol fee of real paid inference flowing in, by voucher redeems and x402 payments.
contract QuadraticFundingInvariantTest is InvariantTest {
    QuadraticFunding internal qf;
    PaymentChannels internal channels;
    X402Splitter internal splitter;
    TestToken internal usd;
    QuadraticFundingHandler internal handler;

    function setUp() public {
        TestToken stakeToken;
        ModelRegistry models;
        ProviderRegistry providers;
        (usd, stakeToken, models, providers) = _deployRegistries();
        qf = new QuadraticFunding(models, makeAddr("steward"));
        channels = new PaymentChannels(usd, models, providers, address(qf), 300, 1 hours);
        qf.setPaymentChannels(channels);
        splitter = new X402Splitter(IPaymentTerms(address(channels)));
        qf.setX402Splitter(IProtocolFeeSource(address(splitter)));
        handler = new QuadraticFundingHandler(qf, channels, splitter, usd, stakeToken, providers, START_TIME);

        bytes4[] memory selectors = new bytes4[](13);
        selectors[0] = QuadraticFundingHandler.createRound.selector;
        selectors[1] = QuadraticFundingHandler.applyProject.selector;
        selectors[2] = QuadraticFundingHandler.donate.selector;
        selectors[3] = QuadraticFundingHandler.donateOutsideWindow.selector;
        selectors[4] = QuadraticFundingHandler.fundPool.selector;
        selectors[5] = QuadraticFundingHandler.payInference.selector;
        selectors[6] = QuadraticFundingHandler.collectProtocolFees.selector;
        selectors[7] = QuadraticFundingHandler.recordUsage.selector;
        selectors[8] = QuadraticFundingHandler.warp.selector;
        selectors[9] = QuadraticFundingHandler.finalize.selector;
        selectors[10] = QuadraticFundingHandler.claim.selector;
        selectors[11] = QuadraticFundingHandler.withdrawUnallocated.selector;
        selectors[12] = QuadraticFundingHandler.payX402.selector;
        _targetHandler(address(handler), selectors);
    }

    event log_named_uint(string key, uint256 val);

    function afterInvariant() public {
        emit log_named_uint("apply", handler.calls("apply"));
        emit log_named_uint("rounds", handler.roundIds().length);
        emit log_named_uint("donate", handler.calls("donate"));
        emit log_named_uint("finalize", handler.calls("finalize"));
        emit log_named_uint("claim", handler.calls("claim"));
        emit log_named_uint("recordUsage", handler.calls("recordUsage"));
        emit log_named_uint("withdrawUnallocated", handler.calls("withdrawUnallocated"));
        emit log_named_uint("refused", handler.calls("refused"));
        emit log_named_uint("payX402", handler.calls("payX402"));
        emit log_named_uint("fees", handler.ghostFeesCollected());
        emit log_named_uint("x402 fees", handler.ghostX402Fees());
    }

    /// @notice Every protocol fee credited to the funding contract, by a voucher redeem or an x402
    ///         payment, has been collected into it or still waits at its source, to the base unit:
    ///         none is lost and none is collected twice.
    function invariant_everyProtocolFeeReachesFunding() public view {
        assertEq(
            handler.ghostVoucherFees() + handler.ghostX402Fees(),
            handler.ghostFeesCollected() + channels.earnings(address(qf)) + splitter.earnings(address(qf)),
            "credited == collected + pending in PaymentChannels + pending in X402Splitter"
        );
        assertEq(usd.balanceOf(address(splitter)), splitter.earnings(address(qf)), "the splitter holds only the pending fees");
    }

    /// @dev A round's donations: the sum of its projects'.
    function _donated(uint256 roundId, uint256 projectCount) internal view returns (uint256 sum) {
        for (uint256 p = 1; p <= projectCount; ++p) {
            sum += qf.getProject(roundId, p).donations.amount;
        }
    }

    /// @notice Tokens in (donations, pool top-ups, protocol fees) == tokens out (claims, operators'
    ///         withdrawals of what was unallocated) + tokens held; and what is held is exactly what
    ///         the contract owes: every open round's pool and donations, every unclaimed project's
    ///         donations and match, every unwithdrawn unallocated part, and the reserve.
    function invariant_fundsConserved() public view {
        uint256 held = usd.balanceOf(address(qf));
        assertEq(
            handler.ghostDonations() + handler.ghostPoolFunding() + handler.ghostFeesCollected(),
            handler.ghostClaimed() + handler.ghostUnallocatedWithdrawn() + held,
            "in == out + held"
        );
        uint256 owed = qf.reserve();
        uint256[] memory ids = handler.roundIds();
        for (uint256 i; i < ids.length; ++i) {
            QuadraticFunding.Round memory round = qf.getRound(ids[i]);
            if (!round.finalized) {
                owed += round.pool + _donated(ids[i], round.projectCount);
                continue;
            }
            owed += round.unallocated;
            for (uint256 p = 1; p <= round.projectCount; ++p) {
                QuadraticFunding.Project memory project = qf.getProject(ids[i], p);
                if (project.claimed) continue;
                (uint256 d, uint256 u) = qf.matchOf(ids[i], p);
                owed += project.donations.amount + d + u;
            }
        }
        assertEq(held, owed, "held == what is owed");
    }

    /// @notice For every finalized round: what its projects were paid or are owed, plus what the
    ///         matches left unallocated (rounding dust and cap excess, withdrawn by the operator or
    ///         returned to the protocol), equals its pool plus its donations exactly; the matches
    ///         never exceed the pool; a round is never paid out more than that.
    function invariant_paidOutEqualsPoolPlusDonationsLessAccountedDust() public view {
        uint256[] memory ids = handler.roundIds();
        for (uint256 i; i < ids.length; ++i) {
            QuadraticFunding.Round memory round = qf.getRound(ids[i]);
            if (!round.finalized) continue;
            uint256 matches;
            uint256 donations;
            for (uint256 p = 1; p <= round.projectCount; ++p) {
                (uint256 d, uint256 u) = qf.matchOf(ids[i], p);
                matches += d + u;
                donations += qf.getProject(ids[i], p).donations.amount;
            }
            assertLe(matches, round.pool, "matches <= pool");
            assertEq(matches + handler.ghostUnallocatedAtFinalize(ids[i]), round.pool, "matches + unallocated == pool");
            assertLe(handler.ghostPaidOf(ids[i]), round.pool + donations, "never paid more than pool + donations");
        }
    }

    /// @notice No claim ever paid twice or to someone else, no donation was taken outside its window,
    ///         no round was finalized early or twice, each of those was refused with its documented
    ///         error and values, and every claim paid exactly donations + match.
    function invariant_refusalsHold() public view {
        assertEq(handler.ghostDoubleClaimsAccepted(), 0, "no claim pays twice");
        assertEq(handler.ghostForeignClaimsAccepted(), 0, "no one claims for someone else");
        assertEq(handler.ghostLateDonationsAccepted(), 0, "no donation outside the window");
        assertEq(handler.ghostEarlyFinalizationsAccepted(), 0, "no early finalization");
        assertEq(handler.ghostRepeatFinalizationsAccepted(), 0, "no second finalization");
        assertEq(handler.ghostClaimMismatches(), 0, "claims pay donations + match exactly");
        assertEq(handler.ghostUnexpectedErrors(), 0, "refused with the documented error");
    }

    /// @notice Every claimed project was paid exactly once, exactly its donations plus its match.
    function invariant_eachClaimPaidOnce() public view {
        uint256[] memory ids = handler.roundIds();
        for (uint256 i; i < ids.length; ++i) {
            QuadraticFunding.Round memory round = qf.getRound(ids[i]);
            if (!round.finalized) continue;
            for (uint256 p = 1; p <= round.projectCount; ++p) {
                QuadraticFunding.Project memory project = qf.getProject(ids[i], p);
                (uint256 d, uint256 u) = qf.matchOf(ids[i], p);
                uint256 expected = project.claimed ? project.donations.amount + d + u : 0;
                assertEq(handler.ghostClaimedOf(ids[i], p), expected, "claimed once, exactly");
            }
        }
    }
}
