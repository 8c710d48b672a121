// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {TestBase} from "../../utils/TestBase.sol";
import {TestToken} from "../../../src/TestToken.sol";
import {ModelRegistry} from "../../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../../src/ProviderRegistry.sol";
import {PaymentChannels} from "../../../src/PaymentChannels.sol";
import {QuadraticFunding} from "../../../src/QuadraticFunding.sol";
import {FundingRounds} from "../../../src/funding/FundingRounds.sol";
import {X402Splitter} from "../../../src/X402Splitter.sol";

/// @notice Drives QuadraticFunding through random but valid sequences: rounds created with random
///         caps, donor caps and usage weights (some designated as the protocol round), applications,
///         donations, pool top-ups, paid inference that pays protocol fees (voucher redeems through
///         PaymentChannels and x402 `exact` payments through X402Splitter), fee collection, usage
///         recording, time passing, finalization, claims and withdrawals of what is unallocated. It
///         also tries what must be refused (donating outside the window, claiming twice, claiming for
///         someone else, finalizing twice or early) and counts any that got through, and any refused
///         with anything but the documented error and its values. Every action returns quietly when
///         it has nothing valid to do, so the run can fail on any unexpected revert.
contract QuadraticFundingHandler is TestBase {
    uint256 internal constant MAX_ROUNDS = 15;
    uint256 internal constant MAX_OPEN_ROUNDS = 2;
    uint256 internal constant DONORS = 4;
    uint256 internal constant PAYERS = 3;
    uint256 internal constant MAX_AMOUNT = 1e24;

    QuadraticFunding public immutable qf;
    PaymentChannels public immutable channels;
    X402Splitter public immutable splitter;
    TestToken public immutable usd;
    ModelRegistry public immutable models;
    address public immutable steward;
    address public immutable operator;
    address public immutable provider;

    /// @dev Applicants: two model owners (with their models) and two labs (address projects).
    address[] internal _applicants;
    uint256[] internal _applicantModels;
    address[] internal _donors;
    address[] internal _payers;
    uint256[] internal _payerKeys;
    uint256[] internal _roundIds;
    bytes32[] internal _channelIds;
    /// @dev The nonce of the next EIP-3009 authorization (each is used once).
    uint256 internal _authorizationNonce;

    /// @dev The handler's clock; forced onto the VM at the start of every action.
    uint256 public currentTime;

    // ghost totals
    uint256 public ghostDonations;
    uint256 public ghostPoolFunding;
    uint256 public ghostFeesCollected;
    /// @dev Protocol fees credited to the funding contract by voucher redeems and by x402 payments.
    uint256 public ghostVoucherFees;
    uint256 public ghostX402Fees;
    uint256 public ghostClaimed;
    uint256 public ghostUnallocatedWithdrawn;
    mapping(uint256 roundId => uint256) public ghostPaidOf;
    mapping(uint256 roundId => uint256) public ghostUnallocatedAtFinalize;
    mapping(uint256 roundId => mapping(uint256 projectId => uint256)) public ghostClaimedOf;
    // ghost failure counters (all must stay zero)
    uint256 public ghostLateDonationsAccepted;
    uint256 public ghostDoubleClaimsAccepted;
    uint256 public ghostForeignClaimsAccepted;
    uint256 public ghostRepeatFinalizationsAccepted;
    uint256 public ghostEarlyFinalizationsAccepted;
    uint256 public ghostClaimMismatches;
    /// @dev Refusals whose revert data was not exactly the documented error with its values.
    uint256 public ghostUnexpectedErrors;
    /// @dev How many actions did something (to check the run reaches every stage).
    mapping(string action => uint256) public calls;

    modifier useTime() {
        vm.warp(currentTime);
        _;
    }

    constructor(
        QuadraticFunding qf_,
        PaymentChannels channels_,
        X402Splitter splitter_,
        TestToken usd_,
        TestToken stakeToken,
        ProviderRegistry providers,
        uint256 startTime
    ) {
        qf = qf_;
        channels = channels_;
        splitter = splitter_;
        usd = usd_;
        models = qf_.models();
        steward = qf_.steward();
        operator = makeAddr("operator");
        provider = makeAddr("provider");
        currentTime = startTime;

        for (uint256 i; i < 2; ++i) {
            address owner = makeAddr(string.concat("creator", vm.toString(i)));
            vm.prank(owner);
            uint256 id = models.register("model", keccak256(abi.encode("weights", i)), bytes32(0), "", 500);
            _applicants.push(owner);
            _applicantModels.push(id);
        }
        for (uint256 i; i < 2; ++i) {
            _applicants.push(makeAddr(string.concat("lab", vm.toString(i))));
            _applicantModels.push(0);
        }
        for (uint256 i; i < DONORS; ++i) {
            address donor = makeAddr(string.concat("donor", vm.toString(i)));
            _donors.push(donor);
            vm.prank(donor);
            usd_.approve(address(qf_), type(uint256).max);
        }
        stakeToken.mint(provider, 1e18);
        vm.startPrank(provider);
        stakeToken.approve(address(providers), 1e18);
        providers.register("https://provider", keccak256("hpke"), 1e18);
        providers.setOffer(_applicantModels[0], 1, 1, 1);
        providers.setOffer(_applicantModels[1], 1, 1, 1);
        vm.stopPrank();
        for (uint256 i; i < PAYERS; ++i) {
            (address payer, uint256 key) = makeAddrAndKey(string.concat("payer", vm.toString(i)));
            _payers.push(payer);
            _payerKeys.push(key);
            vm.prank(payer);
            usd_.approve(address(channels_), type(uint256).max);
            for (uint256 m; m < 2; ++m) {
                _channelIds.push(channels_.channelIdOf(payer, provider, _applicantModels[m], 0));
            }
        }
        vm.prank(operator);
        usd_.approve(address(qf_), type(uint256).max);
    }

    // ------------------------------------------------------------ views for the invariants

    /// @notice Every round created.
    function roundIds() external view returns (uint256[] memory) {
        return _roundIds;
    }

    // ------------------------------------------------------------ actions

    /// @notice Creates a round with random settings; sometimes the steward makes it the protocol round.
    function createRound(uint256 seed) external useTime {
        if (_roundIds.length >= MAX_ROUNDS) return;
        uint256 open;
        for (uint256 i; i < _roundIds.length; ++i) {
            if (currentTime < qf.getRound(_roundIds[i]).donationEnd) ++open;
        }
        if (open >= MAX_OPEN_ROUNDS) return;
        uint64 now_ = uint64(currentTime);
        uint64 donationLength = uint64(bound(seed, 12 hours, 2 days));
        uint64 applicationLength = uint64(bound(seed >> 64, donationLength / 2, donationLength));
        QuadraticFunding.RoundParams memory params;
        params.token = IERC20(address(usd));
        params.applicationStart = now_;
        params.applicationEnd = now_ + applicationLength;
        params.donationStart = now_;
        params.donationEnd = now_ + donationLength;
        params.matchingCapBps = uint16(seed % 3 == 0 ? bound(seed >> 128, 1, 10_000) : 10_000);
        params.usageWeightBps = uint16(seed % 2 == 0 ? bound(seed >> 144, 0, 10_000) : 0);
        params.donorCap = uint128(seed % 5 == 0 ? bound(seed >> 160, 1, MAX_AMOUNT) : 0);
        params.issuers = new address[](0);
        vm.prank(operator);
        uint256 roundId = qf.createRound(params);
        _roundIds.push(roundId);
        if ((seed >> 200) % 2 == 0) {
            uint256 before = usd.balanceOf(address(qf));
            vm.prank(steward);
            qf.setProtocolRound(roundId);
            assertEq(usd.balanceOf(address(qf)), before, "moving the reserve moves no token");
        }
    }

    /// @notice One of the applicants applies to a round whose application window is open.
    function applyProject(uint256 roundSeed, uint256 applicantSeed) external useTime {
        (bool found, uint256 roundId) = _pickRound(roundSeed, _acceptingApplications);
        if (!found) return;
        uint256 i = applicantSeed % _applicants.length;
        address applicant = _applicants[i];
        uint256 model = _applicantModels[i];
        uint256 existing =
            model != 0 ? qf.projectIdOfModel(roundId, model) : qf.projectIdOfRecipient(roundId, applicant);
        if (existing != 0) return;
        vm.prank(applicant);
        qf.applyProject(roundId, model);
        ++calls["apply"];
    }

    /// @notice A donor donates to a project of a round whose donation window is open.
    function donate(uint256 roundSeed, uint256 projectSeed, uint256 donorSeed, uint256 amount) external useTime {
        (bool found, uint256 roundId) = _pickRound(roundSeed, _acceptingDonations);
        if (!found) return;
        QuadraticFunding.Round memory round = qf.getRound(roundId);
        uint256 projectId = projectSeed % round.projectCount + 1;
        address donor = _donors[donorSeed % DONORS];
        amount = bound(amount, 1, MAX_AMOUNT);
        usd.mint(donor, amount);
        vm.prank(donor);
        ghostDonations += qf.donate(roundId, projectId, amount);
        ++calls["donate"];
    }

    /// @notice A donor tries to donate to a round whose donation window has closed (or not opened).
    function donateOutsideWindow(uint256 roundSeed, uint256 amount) external useTime {
        (bool found, uint256 roundId) = _pickRound(roundSeed);
        if (!found) return;
        QuadraticFunding.Round memory round = qf.getRound(roundId);
        if (round.projectCount == 0 || (currentTime >= round.donationStart && currentTime < round.donationEnd)) return;
        address donor = _donors[0];
        amount = bound(amount, 1, MAX_AMOUNT);
        usd.mint(donor, amount);
        vm.prank(donor);
        try qf.donate(roundId, 1, amount) {
            ++ghostLateDonationsAccepted;
        } catch (bytes memory reason) {
            _expectError(
                reason,
                abi.encodeWithSelector(
                    FundingRounds.DonationWindowClosed.selector,
                    roundId,
                    uint64(currentTime),
                    round.donationStart,
                    round.donationEnd
                )
            );
        }
    }

    /// @notice The operator tops up the pool of a round not yet finalized.
    function fundPool(uint256 roundSeed, uint256 amount) external useTime {
        (bool found, uint256 roundId) = _pickRound(roundSeed);
        if (!found || qf.getRound(roundId).finalized) return;
        amount = bound(amount, 1, MAX_AMOUNT);
        usd.mint(operator, amount);
        vm.prank(operator);
        ghostPoolFunding += qf.fundPool(roundId, amount);
    }

    /// @notice A payer pays for inference of one of the two models: the protocol fee accrues to
    ///         the funding contract and the usage becomes recordable.
    function payInference(uint256 payerSeed, uint256 modelSeed, uint256 amount) external useTime {
        uint256 p = payerSeed % PAYERS;
        address payer = _payers[p];
        uint256 model = _applicantModels[modelSeed % 2];
        amount = bound(amount, 1, 1e12);
        bytes32 channelId = channels.channelIdOf(payer, provider, model, 0);
        PaymentChannels.Channel memory channel = channels.getChannel(channelId);
        usd.mint(payer, amount);
        vm.prank(payer);
        if (channel.deposit == 0) channels.open(provider, model, 0, amount);
        else channels.topUp(channelId, amount);
        channel = channels.getChannel(channelId);
        PaymentChannels.Voucher memory voucher =
            PaymentChannels.Voucher({channelId: channelId, epoch: channel.epoch, cumulativeAmount: channel.redeemed + amount});
        bytes memory signature = signDigest(_payerKeys[p], channels.hashVoucher(voucher));
        uint256 pending = channels.earnings(address(qf));
        vm.prank(provider);
        channels.redeem(voucher, signature);
        ghostVoucherFees += channels.earnings(address(qf)) - pending;
    }

    /// @notice A payer pays for inference of one of the two models with an x402 `exact` payment (an
    ///         EIP-3009 authorization to the pair's payee) that the provider settles through
    ///         X402Splitter: the protocol fee accrues to the funding contract in the splitter.
    function payX402(uint256 payerSeed, uint256 modelSeed, uint256 amount) external useTime {
        uint256 p = payerSeed % PAYERS;
        address payer = _payers[p];
        uint256 model = _applicantModels[modelSeed % 2];
        amount = bound(amount, 1, 1e12);
        usd.mint(payer, amount);
        X402Splitter.Authorization memory authorization =
            _signedAuthorization(_payerKeys[p], splitter.payeeOf(provider, model), amount);
        uint256 pending = splitter.earnings(address(qf));
        vm.prank(provider);
        (, uint256 fee,) = splitter.settle(provider, model, authorization);
        assertEq(splitter.earnings(address(qf)) - pending, fee, "the settled fee is credited to the funding contract");
        ghostX402Fees += fee;
        ++calls["payX402"];
    }

    /// @notice Anyone collects the protocol fees.
    function collectProtocolFees() external useTime {
        ghostFeesCollected += qf.collectProtocolFees();
    }

    /// @notice Anyone records the usage of every channel for a round that weighs usage.
    function recordUsage(uint256 roundSeed) external useTime {
        (bool found, uint256 roundId) = _pickRound(roundSeed, _countingUsage);
        if (!found) return;
        if (qf.recordUsage(roundId, _channelIds) != 0) ++calls["recordUsage"];
    }

    /// @notice Time passes.
    function warp(uint256 seconds_) external {
        currentTime += bound(seconds_, 1, 8 hours);
        vm.warp(currentTime);
    }

    /// @notice Anyone finalizes a round whose donation window has ended; trying too early or a
    ///         second time must be refused.
    function finalize(uint256 roundSeed) external useTime {
        (bool found, uint256 roundId) = _pickRound(roundSeed, _finalizable);
        if (!found) (found, roundId) = _pickRound(roundSeed);
        if (!found) return;
        QuadraticFunding.Round memory round = qf.getRound(roundId);
        if (round.finalized) {
            try qf.finalize(roundId) {
                ++ghostRepeatFinalizationsAccepted;
            } catch (bytes memory reason) {
                _expectError(reason, abi.encodeWithSelector(FundingRounds.RoundAlreadyFinalized.selector, roundId));
            }
            return;
        }
        if (currentTime < round.donationEnd) {
            try qf.finalize(roundId) {
                ++ghostEarlyFinalizationsAccepted;
            } catch (bytes memory reason) {
                _expectError(
                    reason,
                    abi.encodeWithSelector(
                        FundingRounds.RoundNotEnded.selector, roundId, round.donationEnd, uint64(currentTime)
                    )
                );
            }
            return;
        }
        uint256 before = usd.balanceOf(address(qf));
        uint256 allocated = qf.finalize(roundId);
        ghostFeesCollected += usd.balanceOf(address(qf)) - before; // a protocol round collects first
        round = qf.getRound(roundId);
        assertLe(allocated, round.pool, "never more than the pool");
        ghostUnallocatedAtFinalize[roundId] = round.pool - allocated;
        ++calls["finalize"];
    }

    /// @notice A project's recipient claims (the first project from the one picked that has
    ///         something to claim); claiming again, or someone else claiming, is refused.
    function claim(uint256 roundSeed, uint256 projectSeed, address someoneElse) external useTime {
        (bool found, uint256 roundId) = _pickRound(roundSeed, _finalizedWithProjects);
        if (!found) return;
        uint256 count = qf.getRound(roundId).projectCount;
        uint256 projectId = projectSeed % count + 1;
        for (uint256 i; i < count; ++i) {
            uint256 candidate = (projectSeed % count + i) % count + 1;
            if (!qf.getProject(roundId, candidate).claimed && _owed(roundId, candidate) != 0) {
                projectId = candidate;
                break;
            }
        }
        address recipient = qf.recipientOf(roundId, projectId);
        if (someoneElse != recipient) {
            vm.prank(someoneElse);
            try qf.claim(roundId, projectId, someoneElse) {
                ++ghostForeignClaimsAccepted;
            } catch (bytes memory reason) {
                _expectError(
                    reason,
                    someoneElse == address(0)
                        ? abi.encodeWithSelector(FundingRounds.ZeroRecipient.selector)
                        : abi.encodeWithSelector(
                            FundingRounds.NotProjectRecipient.selector, roundId, projectId, someoneElse
                        )
                );
            }
        }
        uint256 expected = _owed(roundId, projectId);
        if (qf.getProject(roundId, projectId).claimed) {
            vm.prank(recipient);
            try qf.claim(roundId, projectId, recipient) {
                ++ghostDoubleClaimsAccepted;
            } catch (bytes memory reason) {
                _expectError(reason, abi.encodeWithSelector(FundingRounds.AlreadyClaimed.selector, roundId, projectId));
            }
            return;
        }
        if (expected == 0) return;
        uint256 before = usd.balanceOf(recipient);
        vm.prank(recipient);
        uint256 paid = qf.claim(roundId, projectId, recipient);
        if (paid != expected || usd.balanceOf(recipient) - before != paid) ++ghostClaimMismatches;
        ghostClaimed += paid;
        ghostPaidOf[roundId] += paid;
        ghostClaimedOf[roundId][projectId] += paid;
        ++calls["claim"];
    }

    /// @dev What a project of a finalized round is owed in total: donations plus match.
    function _owed(uint256 roundId, uint256 projectId) internal view returns (uint256) {
        (uint256 d, uint256 u) = qf.matchOf(roundId, projectId);
        return qf.getProject(roundId, projectId).donations.amount + d + u;
    }

    /// @notice The operator withdraws what a finalized, non-protocol round left unallocated.
    function withdrawUnallocated(uint256 roundSeed) external useTime {
        (bool found, uint256 roundId) = _pickRound(roundSeed, _withdrawable);
        if (!found) return;
        vm.prank(operator);
        uint256 amount = qf.withdrawUnallocated(roundId, operator);
        ghostUnallocatedWithdrawn += amount;
        ghostPaidOf[roundId] += amount;
        ++calls["withdrawUnallocated"];
    }

    // ------------------------------------------------------------ internal

    /// @dev An EIP-3009 authorization of `value` from the holder of `key` to `to`, valid for an hour,
    ///      with a fresh nonce, signed as an x402 client signs it.
    function _signedAuthorization(uint256 key, address to, uint256 value)
        internal
        returns (X402Splitter.Authorization memory a)
    {
        a.from = vm.addr(key);
        a.value = value;
        a.validBefore = currentTime + 1 hours;
        a.nonce = bytes32(++_authorizationNonce);
        (a.v, a.r, a.s) = vm.sign(key, _transferAuthorizationDigest(a.from, to, value, a.validBefore, a.nonce));
    }

    /// @dev The EIP-712 digest of an EIP-3009 `TransferWithAuthorization` on `usd` (valid from time
    ///      0), under the domain USDC uses: the token's name and version "2".
    function _transferAuthorizationDigest(address from, address to, uint256 value, uint256 validBefore, bytes32 nonce)
        internal
        view
        returns (bytes32)
    {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes(usd.name())),
                keccak256("2"),
                block.chainid,
                address(usd)
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
                ),
                from,
                to,
                value,
                0,
                validBefore,
                nonce
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    /// @dev Counts a refusal whose revert data is not exactly `expected` (the documented error
    ///      with its values): a refusal for the wrong reason is as much a bug as no refusal.
    function _expectError(bytes memory reason, bytes memory expected) internal {
        if (keccak256(reason) != keccak256(expected)) ++ghostUnexpectedErrors;
        ++calls["refused"];
    }

    /// @dev A round picked by `seed`, if any exists.
    function _pickRound(uint256 seed) internal view returns (bool found, uint256 roundId) {
        if (_roundIds.length == 0) return (false, 0);
        return (true, _roundIds[seed % _roundIds.length]);
    }

    /// @dev The first round from the one `seed` picks, going round the list, that satisfies `accept`
    ///      (so actions find something to do instead of returning most of the time).
    function _pickRound(uint256 seed, function(QuadraticFunding.Round memory) internal view returns (bool) accept)
        internal
        view
        returns (bool found, uint256 roundId)
    {
        uint256 n = _roundIds.length;
        for (uint256 i; i < n; ++i) {
            roundId = _roundIds[(seed % n + i) % n];
            if (accept(qf.getRound(roundId))) return (true, roundId);
        }
        return (false, 0);
    }

    function _acceptingApplications(QuadraticFunding.Round memory round) internal view returns (bool) {
        return currentTime >= round.applicationStart && currentTime < round.applicationEnd;
    }

    function _acceptingDonations(QuadraticFunding.Round memory round) internal view returns (bool) {
        return round.projectCount != 0 && currentTime >= round.donationStart && currentTime < round.donationEnd;
    }

    function _countingUsage(QuadraticFunding.Round memory round) internal view returns (bool) {
        return round.usageWeightBps != 0 && !round.finalized && currentTime >= round.donationStart;
    }

    function _finalizable(QuadraticFunding.Round memory round) internal view returns (bool) {
        return !round.finalized && currentTime >= round.donationEnd;
    }

    function _withdrawable(QuadraticFunding.Round memory round) internal pure returns (bool) {
        return round.finalized && !round.protocolFunded && round.unallocated != 0;
    }

    function _finalizedWithProjects(QuadraticFunding.Round memory round) internal pure returns (bool) {
        return round.finalized && round.projectCount != 0;
    }
}
