// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test} from "./Test.sol";
import {TestToken} from "../../src/TestToken.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {QuadraticFunding} from "../../src/QuadraticFunding.sol";
import {ServingVerification} from "../../src/ServingVerification.sol";
import {IProtocolFeeSource} from "../../src/funding/IProtocolFeeSource.sol";

/// @notice The verified-serving stack wired as deployed: one token (usd) staked by providers and
///         validators and paid through PaymentChannels, QuadraticFunding as the channels' funding
///         pool, ServingVerification wired into the provider registry (`setVerifier`) and into
///         QuadraticFunding (`setServingVerification`). Offers the steps the verification tests
///         share: register validators, build and sign receipts (digest computed independently of
///         the contracts), report, commit and reveal, and sum what the verifier owes.
abstract contract VerificationFixture is Test {
    uint256 internal constant START_TIME = 1_700_000_000;
    uint256 internal constant MIN_STAKE = 100e6;
    uint64 internal constant UNSTAKE_DELAY = 7 days;
    uint16 internal constant FEE_BPS = 250;
    uint64 internal constant CHALLENGE_PERIOD = 1 hours;

    uint256 internal constant MIN_VALIDATOR_STAKE = 50e6;
    uint64 internal constant VALIDATOR_UNSTAKE_DELAY = 3 days;
    uint256 internal constant REPORT_BOND = 10e6;
    uint64 internal constant COMMIT_PERIOD = 1 hours;
    uint64 internal constant REVEAL_PERIOD = 2 hours;
    uint16 internal constant REPORTER_BPS = 2_000;
    uint16 internal constant VALIDATOR_BPS = 3_000;
    uint16 internal constant PENALTY_BPS = 1_000;
    uint16 internal constant HONEST_PROVIDER_BPS = 5_000;

    /// @dev Odd amounts so every split has rounding to account for.
    uint256 internal constant PROVIDER_STAKE = 150_000_007;
    uint256 internal constant VALIDATOR_STAKE = 60_000_010;
    uint256 internal constant VALIDATOR_COUNT = 5;

    bytes32 internal constant RECEIPT_TYPEHASH_LITERAL = keccak256(
        "Receipt(bytes32 requestId,bytes32 channelId,bytes32 weightsHash,uint64 inputTokens,uint64 outputTokens,uint256 cost,uint256 cumulativeOwed,bytes32 requestHash,bytes32 responseHash)"
    );

    TestToken internal usd;
    ModelRegistry internal models;
    ProviderRegistry internal providers;
    QuadraticFunding internal qf;
    PaymentChannels internal channels;
    ServingVerification internal sv;

    address internal provider;
    uint256 internal providerKey;
    address internal provider2;
    uint256 internal provider2Key;
    address internal reporter;
    address internal steward;
    address internal stranger;
    address[] internal validatorAccounts;
    bytes32 internal weightsHash;
    uint256 internal modelId;

    /// @dev Every account that may hold earnings, for `_liabilities`.
    address[] internal earners;
    /// @dev Every case reported, for `_liabilities` (open ones hold a bond).
    bytes32[] internal caseIds;

    uint256 private _receiptNonce;

    function setUp() public virtual {
        vm.warp(START_TIME);
        (provider, providerKey) = makeAddrAndKey("provider");
        (provider2, provider2Key) = makeAddrAndKey("provider2");
        reporter = makeAddr("reporter");
        steward = makeAddr("steward");
        stranger = makeAddr("stranger");

        usd = new TestToken("Gotong Test USD", "tUSD", 6);
        models = new ModelRegistry();
        providers = new ProviderRegistry(IERC20(address(usd)), models, MIN_STAKE, UNSTAKE_DELAY);
        qf = new QuadraticFunding(models, steward);
        channels = new PaymentChannels(usd, models, providers, address(qf), FEE_BPS, CHALLENGE_PERIOD);
        qf.setPaymentChannels(channels);
        sv = new ServingVerification(channels, providers, _params());
        providers.setVerifier(address(sv));
        qf.setServingVerification(IProtocolFeeSource(address(sv)));
        vm.label(address(usd), "usd");
        vm.label(address(providers), "providers");
        vm.label(address(qf), "qf");
        vm.label(address(channels), "channels");
        vm.label(address(sv), "sv");

        weightsHash = keccak256("stories260K weights");
        vm.prank(makeAddr("creator"));
        modelId = models.register("stories260K", weightsHash, keccak256("manifest"), "ipfs://m", 1000);
        _registerProvider(provider, PROVIDER_STAKE, modelId);
        _registerProvider(provider2, PROVIDER_STAKE, modelId);

        for (uint256 i; i < VALIDATOR_COUNT; ++i) {
            address v = makeAddr(string.concat("validator", vm.toString(i)));
            validatorAccounts.push(v);
            _registerValidator(v, VALIDATOR_STAKE);
        }
        _addEarner(provider);
        _addEarner(provider2);
        _addEarner(reporter);
        _addEarner(address(qf));
        _addEarner(stranger);
    }

    /// @dev The deployment's terms; a suite overrides this to test other ones.
    function _params() internal pure virtual returns (ServingVerification.Params memory p) {
        p.minValidatorStake = MIN_VALIDATOR_STAKE;
        p.validatorUnstakeDelay = VALIDATOR_UNSTAKE_DELAY;
        p.reportBond = REPORT_BOND;
        p.commitPeriod = COMMIT_PERIOD;
        p.revealPeriod = REVEAL_PERIOD;
        p.slashBps = 10_000;
        p.reporterBps = REPORTER_BPS;
        p.validatorBps = VALIDATOR_BPS;
        p.validatorPenaltyBps = PENALTY_BPS;
        p.honestProviderBps = HONEST_PROVIDER_BPS;
    }

    function _registerProvider(address account, uint256 stake, uint256 modelId) internal {
        usd.mint(account, stake);
        vm.startPrank(account);
        usd.approve(address(providers), stake);
        providers.register("https://provider.example", keccak256(abi.encode("hpke", account)), stake);
        providers.setOffer(modelId, 1e6, 2e6, 1);
        vm.stopPrank();
    }

    function _registerValidator(address account, uint256 stake) internal {
        usd.mint(account, stake);
        vm.startPrank(account);
        usd.approve(address(sv), stake);
        sv.registerValidator(stake);
        vm.stopPrank();
        _addEarner(account);
    }

    /// @dev Adds `account` to the accounts `_liabilities` sums, once.
    function _addEarner(address account) internal {
        for (uint256 i; i < earners.length; ++i) {
            if (earners[i] == account) return;
        }
        earners.push(account);
    }

    // ------------------------------------------------------------ receipts

    /// @dev A fresh receipt with its plaintext: the request and response hash (sha256) to it.
    function _receipt()
        internal
        returns (ServingVerification.ReceiptData memory r, bytes memory request, bytes memory response)
    {
        uint256 n = ++_receiptNonce;
        request = abi.encodePacked('{"model":"stories260K","temperature":0,"seed":', vm.toString(n), "}");
        response = abi.encodePacked("I AM A DIFFERENT MODEL ", vm.toString(n));
        r = ServingVerification.ReceiptData({
            requestId: keccak256(abi.encode("request", n)),
            channelId: keccak256(abi.encode("channel", n)),
            weightsHash: weightsHash,
            inputTokens: 12,
            outputTokens: 40,
            cost: 230,
            cumulativeOwed: 230 * n,
            requestHash: sha256(request),
            responseHash: sha256(response)
        });
    }

    /// @dev The EIP-712 digest of a receipt in PaymentChannels' domain, computed from the spec.
    function _digest(ServingVerification.ReceiptData memory r) internal view returns (bytes32) {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Gotong PaymentChannels"),
                keccak256("1"),
                block.chainid,
                address(channels)
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                RECEIPT_TYPEHASH_LITERAL,
                r.requestId,
                r.channelId,
                r.weightsHash,
                r.inputTokens,
                r.outputTokens,
                r.cost,
                r.cumulativeOwed,
                r.requestHash,
                r.responseHash
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    function _signReceipt(uint256 key, ServingVerification.ReceiptData memory r) internal view returns (bytes memory) {
        return signDigest(key, _digest(r));
    }

    // ------------------------------------------------------------ cases

    /// @dev Mints and approves the bond for `account`.
    function _fundBond(address account) internal {
        usd.mint(account, REPORT_BOND);
        vm.prank(account);
        usd.approve(address(sv), REPORT_BOND);
    }

    /// @dev `reporter` reports a fresh receipt signed by `provider`.
    function _report() internal returns (bytes32 caseId) {
        return _reportAs(reporter, provider, providerKey);
    }

    function _reportAs(address by, address against, uint256 key) internal returns (bytes32 caseId) {
        (ServingVerification.ReceiptData memory r, bytes memory request, bytes memory response) = _receipt();
        bytes memory signature = _signReceipt(key, r);
        _fundBond(by);
        vm.prank(by);
        caseId = sv.report(against, r, signature, request, response);
        caseIds.push(caseId);
    }

    function _drawn(bytes32 caseId) internal view returns (address[3] memory) {
        return sv.getCase(caseId).validators;
    }

    function _salt(address validator, bytes32 caseId) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", validator, caseId));
    }

    function _commitment(bytes32 caseId, bool fraud, bytes32 salt, address validator) internal pure returns (bytes32) {
        return keccak256(abi.encode(caseId, fraud, salt, validator));
    }

    function _commit(bytes32 caseId, address validator, bool fraud) internal {
        vm.prank(validator);
        sv.commitVote(caseId, _commitment(caseId, fraud, _salt(validator, caseId), validator));
    }

    function _reveal(bytes32 caseId, address validator, bool fraud) internal {
        vm.prank(validator);
        sv.revealVote(caseId, fraud, _salt(validator, caseId));
    }

    /// @dev All three drawn commit `votes` (by seat), then all three reveal.
    function _vote(bytes32 caseId, bool[3] memory votes) internal {
        address[3] memory drawn = _drawn(caseId);
        for (uint256 i; i < 3; ++i) _commit(caseId, drawn[i], votes[i]);
        for (uint256 i; i < 3; ++i) _reveal(caseId, drawn[i], votes[i]);
    }

    // ------------------------------------------------------------ accounting

    /// @dev Everything the verifier owes: validators' stake and unstaking, credited earnings, and
    ///      the bonds of open cases. Must equal its token balance exactly (nothing stranded).
    function _liabilities() internal view returns (uint256 owed) {
        for (uint256 i; i < earners.length; ++i) {
            ServingVerification.Validator memory v = sv.getValidator(earners[i]);
            owed += v.stake + v.unstaking + sv.earnings(earners[i]);
        }
        for (uint256 i; i < caseIds.length; ++i) {
            ServingVerification.Case memory c = sv.getCase(caseIds[i]);
            if (c.outcome == 0) owed += c.bond;
        }
    }

    function _assertNothingStranded() internal view {
        assertEq(usd.balanceOf(address(sv)), _liabilities(), "verifier balance == its liabilities");
    }
}
