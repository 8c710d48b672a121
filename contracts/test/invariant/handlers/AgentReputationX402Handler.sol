// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {TestBase} from "../../utils/TestBase.sol";
import {Vm} from "../../utils/Vm.sol";
import {TestToken} from "../../../src/TestToken.sol";
import {AgentRegistry} from "../../../src/AgentRegistry.sol";
import {AgentReputation} from "../../../src/AgentReputation.sol";
import {X402Splitter} from "../../../src/X402Splitter.sol";

/// @notice Drives AgentReputation beside the X402Splitter it reads: x402 `settle`s from a few
///         payers to a few providers (some of zero value, wrongly signed, expired, replayed or
///         unfunded, which must fail and record nothing), `payAgent` payments (some zero, too
///         large, to an agent without a wallet or from its own wallet), `giveFeedback` (which cites
///         the open `payAgent` payments and the open x402 amount, at most `MAX_PAYMENT` of it),
///         `giveFeedbackForPayment`, revocations, agents moving between wallets (two agents share
///         one; one wallet is also a reviewer) and the funding pool withdrawing its fees.
///
///         Before each call it predicts, from its own model (what it settled and paid, and what it
///         saw cited), whether the contract must accept it and what the feedback must weigh, and
///         counts every disagreement. The x402 part of each feedback is read from the contract (its
///         weight less the `payAgent` part the model knows of, and the `X402PaymentsCited` event),
///         so the ghost sums the invariants compare with the contract's counters are observations,
///         not copies of them.
contract AgentReputationX402Handler is TestBase {
    uint256 internal constant MAX_PAYMENT = type(uint128).max;
    uint256 internal constant BPS = 10_000;
    uint256 public constant PAYERS = 3;
    /// @dev Wallet candidates: three providers, and payer 0 (a reviewer that is also a provider).
    uint256 public constant WALLETS = 4;
    uint256 public constant AGENTS = 4;
    uint256 public constant MODELS = 2;
    bytes32 internal constant TRANSFER_TYPEHASH = keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 internal constant X402_CITED_TOPIC =
        keccak256("X402PaymentsCited(uint256,address,uint64,address,uint256,uint256)");

    AgentReputation public immutable reputation;
    X402Splitter public immutable splitter;
    AgentRegistry public immutable registry;
    TestToken public immutable usd;
    address public immutable fundingPool;
    address public immutable steward;
    address public immutable creator;
    uint16 public immutable reputationFeeBps;
    uint16 public immutable protocolFeeBps;

    address[] public payers;
    uint256[] internal _payerKeys;
    address[] public wallets;
    uint256[] internal _walletKeys;
    address[] public owners;
    uint256[] public agentIds;
    uint256[] public modelIds;
    uint16[] public royaltyBps;

    /// @notice The handler's model of each agent's wallet (zero: none).
    mapping(uint256 agentIndex => address) public modelWallet;

    /// @notice A feedback as the handler saw it recorded.
    struct Record {
        uint256 agentIndex;
        uint256 payerIndex;
        uint64 index;
        address wallet;
        uint256 weight;
        uint256 payAgentPart;
        uint256 x402Part;
        bool revoked;
    }

    /// @notice A `payAgent` payment as the handler made it.
    struct PaymentModel {
        uint256 agentIndex;
        uint256 payerIndex;
        uint256 amount;
        bool cited;
    }

    Record[] internal _records;
    PaymentModel[] internal _payments;

    /// @dev The last settle that succeeded, per payer (replayed to check it fails).
    mapping(uint256 payerIndex => X402Splitter.Authorization) internal _lastAuth;
    mapping(uint256 payerIndex => address) internal _lastProvider;
    mapping(uint256 payerIndex => uint256) internal _lastModel;
    uint256 internal _nonce;

    // ghosts
    mapping(address payer => mapping(address provider => uint256)) public ghostPaid;
    mapping(address reviewer => mapping(address wallet => uint256)) public ghostCited;
    mapping(address reviewer => mapping(address wallet => uint256)) public lastSeenCited;
    mapping(address payer => mapping(address provider => uint256)) public lastSeenPaid;
    mapping(uint256 agentIndex => mapping(uint256 payerIndex => uint256)) public ghostOpenPayAgent;
    mapping(address provider => uint256) public ghostProviderShares;
    mapping(address wallet => uint256) public ghostPayAgentNet;
    uint256 public ghostFees;
    uint256 public ghostWithdrawn;
    uint256 public ghostRoyalties;
    uint256 public ghostReputationFees;
    uint256 public ghostMaxX402Part;
    uint256 public ghostCapHits;

    // failure counters (all must stay zero)
    uint256 public ghostMismatches;
    uint256 public ghostShrinks;
    string public lastMismatch;

    mapping(string action => uint256) public calls;

    modifier watched() {
        _;
        _checkMonotonic();
    }

    constructor(
        AgentReputation reputation_,
        X402Splitter splitter_,
        AgentRegistry registry_,
        TestToken usd_,
        address creator_,
        uint256[] memory modelIds_,
        uint16[] memory royaltyBps_,
        address steward_
    ) {
        reputation = reputation_;
        splitter = splitter_;
        registry = registry_;
        usd = usd_;
        creator = creator_;
        fundingPool = splitter_.fundingPool();
        protocolFeeBps = splitter_.protocolFeeBps();
        reputationFeeBps = reputation_.feeBps();
        steward = steward_;
        modelIds = modelIds_;
        royaltyBps = royaltyBps_;
        for (uint256 i; i < PAYERS; ++i) {
            (address payer, uint256 key) = makeAddrAndKey(string.concat("x402 payer", vm.toString(i)));
            payers.push(payer);
            _payerKeys.push(key);
            vm.prank(payer);
            usd_.approve(address(reputation_), type(uint256).max);
        }
        for (uint256 j; j < WALLETS - 1; ++j) {
            (address w, uint256 key) = makeAddrAndKey(string.concat("x402 provider", vm.toString(j)));
            wallets.push(w);
            _walletKeys.push(key);
        }
        wallets.push(payers[0]);
        _walletKeys.push(_payerKeys[0]);
        // Agents 0-2 are owned by accounts that never pay; their wallets are providers 0, 0 and 1
        // (agents 0 and 1 share one). Agent 3 is registered by provider 2, its owner and wallet.
        for (uint256 a; a < AGENTS - 1; ++a) {
            address owner = makeAddr(string.concat("agent owner", vm.toString(a)));
            owners.push(owner);
            vm.prank(owner);
            agentIds.push(registry_.register(string.concat("ipfs://agent", vm.toString(a))));
            _bindWallet(a, a == 2 ? 1 : 0);
        }
        owners.push(wallets[2]);
        vm.prank(wallets[2]);
        agentIds.push(registry_.register("ipfs://provider-agent"));
        modelWallet[3] = wallets[2];
    }

    // ---------------------------------------------------------------- x402

    /// @notice `payer` settles an x402 payment to `provider` for a model; kinds of failure (zero
    ///         value, another key's signature, expired, a replay, no funds) must fail and record nothing.
    function settle(uint256 payerSeed, uint256 walletSeed, uint256 modelSeed, uint256 amountSeed, uint256 kindSeed)
        external
        watched
    {
        uint256 p = payerSeed % PAYERS;
        address payer = payers[p];
        address provider = wallets[walletSeed % WALLETS];
        uint256 m = modelSeed % MODELS;
        uint256 amount = _x402Amount(amountSeed);
        uint256 kind = kindSeed % 12;
        X402Splitter.Authorization memory auth;
        bool expected = amount != 0;
        if (kind == 0 && _lastProvider[p] != address(0)) {
            // A replay of the payer's last settled authorization: its nonce is used.
            auth = _lastAuth[p];
            provider = _lastProvider[p];
            m = _lastModel[p];
            usd.mint(payer, auth.value);
            expected = false;
        } else {
            uint256 validBefore = kind == 1 ? block.timestamp : block.timestamp + 60; // 1: expired
            uint256 key = kind == 2 ? _payerKeys[(p + 1) % PAYERS] : _payerKeys[p]; // 2: another key
            if (kind != 3) usd.mint(payer, amount); // 3: no funds (unless the payer has some)
            auth = _authorize(key, payer, splitter.payeeOf(provider, modelIds[m]), amount, validBefore);
            if (kind == 1 || kind == 2) expected = false;
            if (kind == 3 && usd.balanceOf(payer) < amount) expected = false;
        }
        uint256 paidBefore = splitter.paidBy(payer, provider);
        vm.prank(provider);
        try splitter.settle(provider, modelIds[m], auth) returns (uint256 royalty, uint256 fee, uint256 share) {
            if (!expected) return _mismatch("settle accepted what must fail");
            // The payee held nothing before (every settle splits it whole), so the split is of `value`.
            uint256 v = auth.value;
            if (royalty != v * royaltyBps[m] / BPS || fee != v * protocolFeeBps / BPS || share != v - royalty - fee) {
                return _mismatch("settle split");
            }
            ghostPaid[payer][provider] += v;
            ghostFees += fee;
            ghostRoyalties += royalty;
            ghostProviderShares[provider] += share;
            _lastAuth[p] = auth;
            _lastProvider[p] = provider;
            _lastModel[p] = m;
            calls["settle"]++;
        } catch {
            if (expected) return _mismatch("settle refused a valid payment");
            if (splitter.paidBy(payer, provider) != paidBefore) return _mismatch("a failed settle recorded");
            calls["settleFailed"]++;
        }
    }

    /// @notice The funding pool withdraws the protocol fees the splitter credited it.
    function withdrawFees() external watched {
        uint256 owed = splitter.earnings(fundingPool);
        if (owed == 0) return;
        vm.prank(fundingPool);
        splitter.withdrawEarnings(fundingPool);
        ghostWithdrawn += owed;
        calls["withdrawFees"]++;
    }

    // ---------------------------------------------------------------- reputation

    /// @notice A payer pays an agent through `payAgent` (zero, too large, to no wallet or by its own
    ///         wallet must fail).
    function payAgent(uint256 payerSeed, uint256 agentSeed, uint256 amountSeed) external watched {
        uint256 p = payerSeed % PAYERS;
        uint256 a = agentSeed % AGENTS;
        address payer = payers[p];
        address wallet = modelWallet[a];
        uint256 kind = amountSeed % 16;
        uint256 amount =
            kind == 0 ? 0 : kind == 1 ? MAX_PAYMENT + 1 : kind == 2 ? MAX_PAYMENT : bound(amountSeed >> 4, 1, 1e12);
        bool expected = amount != 0 && amount <= MAX_PAYMENT && wallet != address(0) && !_selfDealing(a, payer);
        if (amount <= MAX_PAYMENT) usd.mint(payer, amount);
        uint256 id = _payments.length + 1;
        vm.prank(payer);
        try reputation.payAgent(agentIds[a], amount, "order") returns (uint256 paymentId) {
            if (!expected) return _mismatch("payAgent accepted what must fail");
            if (paymentId != id) return _mismatch("payAgent id");
            uint256 fee = Math.mulDiv(amount, reputationFeeBps, BPS);
            ghostReputationFees += fee;
            ghostPayAgentNet[wallet] += amount - fee;
            ghostOpenPayAgent[a][p] += amount;
            _payments.push(PaymentModel(a, p, amount, false));
            calls["payAgent"]++;
        } catch {
            if (expected) return _mismatch("payAgent refused a valid payment");
            calls["payAgentFailed"]++;
        }
    }

    /// @notice A reviewer gives feedback: it must cite exactly the open `payAgent` payments and
    ///         `min(paid - cited, MAX_PAYMENT)` of x402, and be refused when that is nothing or the
    ///         reviewer is the agent's owner or wallet.
    function giveFeedback(uint256 payerSeed, uint256 agentSeed, uint256 valueSeed) external watched {
        uint256 p = payerSeed % PAYERS;
        uint256 a = agentSeed % AGENTS;
        address reviewer = payers[p];
        address wallet = modelWallet[a];
        uint256 open = wallet == address(0) ? 0 : ghostPaid[reviewer][wallet] - ghostCited[reviewer][wallet];
        uint256 x402Expected = Math.min(open, MAX_PAYMENT);
        bool expected = !_selfDealing(a, reviewer) && ghostOpenPayAgent[a][p] + x402Expected != 0;
        int128 value = int128(int256(bound(valueSeed, 0, 200))) - 100;
        uint8 decimals = uint8((valueSeed >> 8) % 3);

        vm.recordLogs();
        vm.prank(reviewer);
        try reputation.giveFeedback(agentIds[a], value, decimals, "tag", "", "", "", bytes32(0)) {
            if (!expected) return _mismatch("giveFeedback accepted what must fail");
            _afterFeedback(a, p, x402Expected, vm.getRecordedLogs());
        } catch {
            vm.getRecordedLogs();
            if (expected) return _mismatch("giveFeedback refused a feedback with something to cite");
            calls["giveFeedbackRefused"]++;
        }
    }

    /// @dev Reads the feedback just given, checks its weight and event against the model, and records it.
    function _afterFeedback(uint256 a, uint256 p, uint256 x402Expected, Vm.Log[] memory logs) internal {
        address reviewer = payers[p];
        address wallet = modelWallet[a];
        uint256 payPart = ghostOpenPayAgent[a][p];
        uint64 index = reputation.getLastIndex(agentIds[a], reviewer);
        uint256 weight = reputation.feedbackWeight(agentIds[a], reviewer, index);
        if (weight < payPart) return _mismatch("feedback weighs less than its payAgent payments");
        uint256 x402Part = weight - payPart;
        if (x402Part != x402Expected) return _mismatch("feedback's x402 part");
        if (!_citedEventMatches(logs, a, reviewer, index, wallet, x402Part)) {
            return _mismatch("X402PaymentsCited event");
        }
        if (x402Part != 0) ghostCited[reviewer][wallet] += x402Part;
        if (x402Part > ghostMaxX402Part) ghostMaxX402Part = x402Part;
        if (x402Part == MAX_PAYMENT) ghostCapHits++;
        ghostOpenPayAgent[a][p] = 0;
        for (uint256 i; i < _payments.length; ++i) {
            PaymentModel storage pm = _payments[i];
            if (pm.agentIndex == a && pm.payerIndex == p) pm.cited = true;
        }
        _records.push(Record(a, p, index, wallet, weight, payPart, x402Part, false));
        calls[x402Part != 0 ? "giveFeedbackX402" : "giveFeedbackPayAgentOnly"]++;
    }

    /// @notice A payer cites one `payAgent` payment (x402 is not cited this way).
    function giveFeedbackForPayment(uint256 paymentSeed, uint256 valueSeed) external watched {
        if (_payments.length == 0) return;
        uint256 id = paymentSeed % _payments.length + 1;
        PaymentModel storage pm = _payments[id - 1];
        address reviewer = payers[pm.payerIndex];
        bool expected = !pm.cited && !_selfDealing(pm.agentIndex, reviewer);
        int128 value = int128(int256(bound(valueSeed, 0, 200))) - 100;
        vm.prank(reviewer);
        try reputation.giveFeedbackForPayment(id, value, 0, "", "", "", "", bytes32(0)) {
            if (!expected) return _mismatch("giveFeedbackForPayment accepted what must fail");
            uint256 agentId = agentIds[pm.agentIndex];
            uint64 index = reputation.getLastIndex(agentId, reviewer);
            uint256 weight = reputation.feedbackWeight(agentId, reviewer, index);
            if (weight != pm.amount) return _mismatch("giveFeedbackForPayment weight");
            pm.cited = true;
            ghostOpenPayAgent[pm.agentIndex][pm.payerIndex] -= pm.amount;
            _records.push(
                Record(pm.agentIndex, pm.payerIndex, index, modelWallet[pm.agentIndex], weight, weight, 0, false)
            );
            calls["giveFeedbackForPayment"]++;
        } catch {
            if (expected) return _mismatch("giveFeedbackForPayment refused an open payment");
            calls["giveFeedbackForPaymentRefused"]++;
        }
    }

    /// @notice A reviewer revokes one of its feedbacks: it stops counting, its citations stay.
    function revokeFeedback(uint256 recordSeed) external watched {
        if (_records.length == 0) return;
        Record storage r = _records[recordSeed % _records.length];
        vm.prank(payers[r.payerIndex]);
        try reputation.revokeFeedback(agentIds[r.agentIndex], r.index) {
            if (r.revoked) return _mismatch("revoked twice");
            r.revoked = true;
            calls["revokeFeedback"]++;
        } catch {
            if (!r.revoked) return _mismatch("revoke refused");
        }
    }

    /// @notice An agent's owner moves it to another wallet (signed by that wallet), or unsets it.
    function setAgentWallet(uint256 agentSeed, uint256 walletSeed) external watched {
        uint256 a = agentSeed % AGENTS;
        uint256 w = walletSeed % (WALLETS + 1);
        if (w == WALLETS) {
            vm.prank(owners[a]);
            registry.unsetAgentWallet(agentIds[a]);
            modelWallet[a] = address(0);
        } else {
            _bindWallet(a, w);
        }
        if (registry.getAgentWallet(agentIds[a]) != modelWallet[a]) return _mismatch("agent wallet");
        calls["setAgentWallet"]++;
    }

    // ---------------------------------------------------------------- views for the invariants

    function recordCount() external view returns (uint256) {
        return _records.length;
    }

    function record(uint256 i) external view returns (Record memory) {
        return _records[i];
    }

    function paymentCount() external view returns (uint256) {
        return _payments.length;
    }

    function paymentModel(uint256 i) external view returns (PaymentModel memory) {
        return _payments[i];
    }

    function payeeCount() external pure returns (uint256) {
        return WALLETS * MODELS;
    }

    /// @notice The payee of pair `i` (wallet `i / MODELS`, model `i % MODELS`).
    function payee(uint256 i) external view returns (address) {
        return splitter.payeeOf(wallets[i / MODELS], modelIds[i % MODELS]);
    }

    // ---------------------------------------------------------------- internal

    /// @dev x402 amounts: zero, small, and around `MAX_PAYMENT` (just below, just above, twice).
    function _x402Amount(uint256 seed) internal pure returns (uint256) {
        uint256 kind = seed % 16;
        if (kind == 0) return 0;
        if (kind == 1) return MAX_PAYMENT - (seed >> 4) % 1000;
        if (kind == 2) return MAX_PAYMENT + 1 + (seed >> 4) % 1000;
        if (kind == 3) return 2 * MAX_PAYMENT + (seed >> 4) % 1000;
        return bound(seed >> 4, 1, 1e12);
    }

    /// @dev Whether the agent's registry would refuse `account` (its owner or wallet; no operators here).
    function _selfDealing(uint256 a, address account) internal view returns (bool) {
        return account == owners[a] || account == modelWallet[a];
    }

    /// @dev The feedback's X402PaymentsCited event: exactly one with the x402 part and the new
    ///      cited total when it cites x402, none otherwise.
    function _citedEventMatches(
        Vm.Log[] memory logs,
        uint256 a,
        address reviewer,
        uint64 index,
        address wallet,
        uint256 x402Part
    ) internal view returns (bool) {
        uint256 found;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(reputation) || logs[i].topics[0] != X402_CITED_TOPIC) continue;
            ++found;
            (uint64 idx, uint256 amount, uint256 citedTotal) = abi.decode(logs[i].data, (uint64, uint256, uint256));
            if (
                logs[i].topics[1] != bytes32(agentIds[a]) || logs[i].topics[2] != bytes32(uint256(uint160(reviewer)))
                    || logs[i].topics[3] != bytes32(uint256(uint160(wallet))) || idx != index || amount != x402Part
                    || citedTotal != ghostCited[reviewer][wallet] + x402Part
            ) return false;
        }
        return found == (x402Part == 0 ? 0 : 1);
    }

    /// @dev Binds agent `a` to wallet candidate `w`, signed by the wallet's key.
    function _bindWallet(uint256 a, uint256 w) internal {
        uint256 deadline = block.timestamp + 60;
        bytes32 digest = registry.walletSetDigest(agentIds[a], wallets[w], owners[a], deadline);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(_walletKeys[w], digest);
        vm.prank(owners[a]);
        registry.setAgentWallet(agentIds[a], wallets[w], deadline, abi.encodePacked(r, s, v));
        modelWallet[a] = wallets[w];
    }

    /// @dev An ERC-3009 authorization of `value` from `from` to `to`, signed with `key`.
    function _authorize(uint256 key, address from, address to, uint256 value, uint256 validBefore)
        internal
        returns (X402Splitter.Authorization memory auth)
    {
        bytes32 nonce = bytes32(++_nonce);
        bytes32 domainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256(bytes(usd.name())),
                keccak256("2"),
                block.chainid,
                address(usd)
            )
        );
        bytes32 structHash = keccak256(abi.encode(TRANSFER_TYPEHASH, from, to, value, 0, validBefore, nonce));
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash)));
        auth = X402Splitter.Authorization(from, value, 0, validBefore, nonce, v, r, s);
    }

    /// @dev What was cited and paid never shrinks, whatever the action.
    function _checkMonotonic() internal {
        for (uint256 p; p < PAYERS; ++p) {
            for (uint256 w; w < WALLETS; ++w) {
                address payer = payers[p];
                address wallet = wallets[w];
                uint256 cited = reputation.x402Cited(payer, wallet);
                uint256 paid = splitter.paidBy(payer, wallet);
                if (cited < lastSeenCited[payer][wallet] || paid < lastSeenPaid[payer][wallet]) ghostShrinks++;
                lastSeenCited[payer][wallet] = cited;
                lastSeenPaid[payer][wallet] = paid;
            }
        }
    }

    function _mismatch(string memory what) internal {
        ghostMismatches++;
        lastMismatch = what;
    }
}
