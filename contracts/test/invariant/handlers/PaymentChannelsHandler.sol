// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {TestBase} from "../../utils/TestBase.sol";
import {TestToken} from "../../../src/TestToken.sol";
import {ModelRegistry} from "../../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../../src/ProviderRegistry.sol";
import {PaymentChannels} from "../../../src/PaymentChannels.sol";

/// @notice Drives PaymentChannels through random but valid sequences (open, top up, redeem with
///         real signatures, batch redeem with repeats and poisoned vouchers (forged, another
///         provider's, closed, withdrawn, wrong epoch) that must be skipped, stale and old-epoch
///         replays, close, warp,
///         withdraw, withdraw earnings, transfer a model, withdraw a model's royalties, with the
///         previous owners refused) and keeps ghost totals the invariants compare with the
///         contract's state. Every action returns quietly when it has nothing
///         valid to do, so the run can fail on any unexpected revert.
contract PaymentChannelsHandler is TestBase {
    uint256 internal constant SENDERS = 3;
    uint256 internal constant PROVIDERS = 2;
    /// @dev Salts per (sender, provider, model): two channels of one pair can be live at once.
    uint256 internal constant SALTS = 2;
    uint256 internal constant MAX_DEPOSIT = 1e24;
    uint256 internal constant MIN_STAKE = 1e18;

    PaymentChannels public immutable channels;
    TestToken public immutable usd;
    ModelRegistry public immutable models;
    address public immutable fundingPool;
    /// @dev Where model owners sometimes send their royalties (outside the contract's books).
    address public immutable royaltyWallet;

    address[] internal _senders;
    uint256[] internal _senderKeys;
    address[] internal _providers;
    address[] internal _creators;
    uint256[] internal _modelIds;

    /// @dev Every (sender, provider, model, salt) channel id the handler can touch.
    bytes32[] internal _channelIds;
    mapping(bytes32 channelId => uint256 senderIndex) internal _senderIndexOf;

    /// @dev The handler's clock; forced onto the VM at the start of every action.
    uint256 public currentTime;

    // ghost totals
    uint256 public ghostDeposited;
    uint256 public ghostRefunded;
    uint256 public ghostEarningsWithdrawn;
    uint256 public ghostFeesWithdrawn;
    uint256 public ghostModelEarningsWithdrawn;
    uint256 public ghostPaid;
    uint256 public ghostRoyalty;
    uint256 public ghostFee;
    uint256 public ghostProviderShare;
    /// @dev Sum over channels and epochs of the highest voucher amount paid, capped by the deposit
    ///      at the time it was redeemed.
    uint256 public ghostSumHighestVoucher;
    mapping(bytes32 channelId => mapping(uint64 epoch => uint256)) public ghostHighestVoucher;
    /// @dev Royalties credited to, and withdrawn from, each model.
    mapping(uint256 modelId => uint256) public ghostRoyaltyOf;
    mapping(uint256 modelId => uint256) public ghostRoyaltyWithdrawnOf;
    // ghost failure counters (all must stay zero)
    uint256 public ghostReplaysAccepted;
    uint256 public ghostUnexpectedErrors;
    uint256 public ghostSplitMismatches;
    uint256 public ghostRefundMismatches;
    uint256 public ghostUnauthorizedWithdrawals;

    mapping(string action => uint256) public calls;

    modifier useTime() {
        vm.warp(currentTime);
        _;
    }

    constructor(
        PaymentChannels channels_,
        TestToken usd_,
        TestToken stakeToken,
        ModelRegistry models_,
        ProviderRegistry providers_,
        uint256 startTime
    ) {
        channels = channels_;
        usd = usd_;
        models = models_;
        fundingPool = channels_.fundingPool();
        royaltyWallet = makeAddr("royaltyWallet");
        currentTime = startTime;

        for (uint256 i; i < SENDERS; ++i) {
            (address account, uint256 key) = makeAddrAndKey(string.concat("sender", vm.toString(i)));
            _senders.push(account);
            _senderKeys.push(key);
            vm.prank(account);
            usd_.approve(address(channels_), type(uint256).max);
        }
        _creators.push(makeAddr("creator0"));
        _creators.push(makeAddr("creator1"));
        uint16[3] memory royalties = [uint16(0), uint16(777), uint16(5000)];
        for (uint256 i; i < royalties.length; ++i) {
            vm.prank(_creators[i % 2]);
            _modelIds.push(models_.register("model", keccak256(abi.encode("weights", i)), bytes32(0), "", royalties[i]));
        }
        for (uint256 i; i < PROVIDERS; ++i) {
            address account = makeAddr(string.concat("provider", vm.toString(i)));
            _providers.push(account);
            stakeToken.mint(account, MIN_STAKE);
            vm.startPrank(account);
            stakeToken.approve(address(providers_), MIN_STAKE);
            providers_.register("https://provider", keccak256(abi.encode(account)), MIN_STAKE);
            for (uint256 m; m < _modelIds.length; ++m) {
                providers_.setOffer(_modelIds[m], 1, 1, 1);
            }
            vm.stopPrank();
        }
        for (uint256 s; s < SENDERS; ++s) {
            for (uint256 p; p < PROVIDERS; ++p) {
                for (uint256 m; m < _modelIds.length; ++m) {
                    for (uint256 salt; salt < SALTS; ++salt) {
                        bytes32 id = channels_.channelIdOf(_senders[s], _providers[p], _modelIds[m], salt);
                        _channelIds.push(id);
                        _senderIndexOf[id] = s;
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- actions

    function open(uint256 channelSeed, uint256 amount) external useTime {
        bytes32 id = _channelIds[channelSeed % _channelIds.length];
        if (channels.getChannel(id).deposit != 0) return;
        (address sender, address provider, uint256 modelId, uint256 salt) = _parties(id);
        amount = bound(amount, 1, MAX_DEPOSIT);
        usd.mint(sender, amount);
        vm.prank(sender);
        channels.open(provider, modelId, salt, amount);
        ghostDeposited += amount;
        calls["open"]++;
    }

    function topUp(uint256 channelSeed, uint256 amount) external useTime {
        (bytes32 id, bool found) = _find(channelSeed, _isOpenAndNotClosing);
        if (!found) return;
        amount = bound(amount, 1, MAX_DEPOSIT);
        address sender = _senders[_senderIndexOf[id]];
        usd.mint(sender, amount);
        vm.prank(sender);
        channels.topUp(id, amount);
        ghostDeposited += amount;
        calls["topUp"]++;
    }

    function redeem(uint256 channelSeed, uint256 amountSeed) external useTime {
        (bytes32 id, bool found) = _find(channelSeed, _isRedeemable);
        if (!found) return;
        PaymentChannels.Channel memory c = channels.getChannel(id);
        // Anything from one unit more than redeemed to a full deposit above it (so some vouchers
        // exceed the deposit and are capped).
        uint256 cumulative = c.redeemed + bound(amountSeed, 1, c.deposit);
        if (Math.min(cumulative, c.deposit) <= c.redeemed) return; // fully redeemed: nothing to pay
        PaymentChannels.Voucher memory voucher = PaymentChannels.Voucher(id, c.epoch, cumulative);
        bytes memory signature = _sign(id, voucher);

        Balances memory before = _balances(c.provider);
        vm.prank(c.provider);
        uint256 paid = channels.redeem(voucher, signature);
        _recordPayment(id, c, cumulative, paid, before);
        calls["redeem"]++;
    }

    function redeemStale(uint256 channelSeed, uint256 amountSeed) external useTime {
        (bytes32 id, bool found) = _find(channelSeed, _isRedeemable);
        if (!found) return;
        PaymentChannels.Channel memory c = channels.getChannel(id);
        if (c.redeemed == 0) return;
        uint256 cumulative = bound(amountSeed, 0, c.redeemed);
        PaymentChannels.Voucher memory voucher = PaymentChannels.Voucher(id, c.epoch, cumulative);
        bytes memory signature = _sign(id, voucher);
        vm.prank(c.provider);
        (bool ok, bytes memory result) =
            address(channels).call(abi.encodeCall(PaymentChannels.redeem, (voucher, signature)));
        _expectFailure(
            ok, result, abi.encodeWithSelector(PaymentChannels.VoucherNotIncreasing.selector, c.redeemed, cumulative)
        );
        calls["redeemStale"]++;
    }

    function redeemOldEpoch(uint256 channelSeed, uint256 amountSeed) external useTime {
        (bytes32 id, bool found) = _find(channelSeed, _hasOldEpoch);
        if (!found) return;
        PaymentChannels.Channel memory c = channels.getChannel(id);
        uint64 oldEpoch = c.epoch - 1;
        uint256 cumulative = bound(amountSeed, 1, MAX_DEPOSIT);
        PaymentChannels.Voucher memory voucher = PaymentChannels.Voucher(id, oldEpoch, cumulative);
        bytes memory signature = _sign(id, voucher);
        vm.prank(c.provider);
        (bool ok, bytes memory result) =
            address(channels).call(abi.encodeCall(PaymentChannels.redeem, (voucher, signature)));
        bytes memory expected = c.deposit == 0
            ? abi.encodeWithSelector(PaymentChannels.ChannelNotOpen.selector, id)
            : abi.encodeWithSelector(PaymentChannels.WrongEpoch.selector, c.epoch, oldEpoch);
        _expectFailure(ok, result, expected);
        calls["redeemOldEpoch"]++;
    }

    function redeemBatch(uint256 providerSeed, uint256 seed) external useTime {
        address provider = _providers[providerSeed % PROVIDERS];
        uint256 count = bound(seed, 1, 5);
        PaymentChannels.Voucher[] memory vouchers = new PaymentChannels.Voucher[](count);
        bytes[] memory signatures = new bytes[](count);
        Simulation memory sim = Simulation({ids: new bytes32[](count), states: new PaymentChannels.Channel[](count)});
        bool[] memory forged = new bool[](count);
        uint256 built;
        for (uint256 i; i < count; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            if (r % 5 == 1) {
                // Poison: any channel (another provider's, closing, closed, withdrawn), any of two
                // epochs, signed by its sender or forged by another. The batch must skip it and
                // still pay the rest.
                bytes32 anyId = _channelIds[(r >> 8) % _channelIds.length];
                PaymentChannels.Channel memory any = channels.getChannel(anyId);
                uint64 epoch = (r >> 16) % 3 == 0 ? any.epoch + 1 : any.epoch;
                vouchers[i] = PaymentChannels.Voucher(anyId, epoch, bound(r >> 128, 0, any.redeemed + MAX_DEPOSIT));
                forged[i] = (r >> 24) % 2 == 0;
                uint256 key = _senderKeys[(_senderIndexOf[anyId] + (forged[i] ? 1 : 0)) % SENDERS];
                signatures[i] = signDigest(key, channels.hashVoucher(vouchers[i]));
                ++built;
                continue;
            }
            if (i > 0 && r % 4 == 0) {
                // The same voucher again: it must pay nothing the second time.
                vouchers[i] = vouchers[i - 1];
                signatures[i] = signatures[i - 1];
                forged[i] = forged[i - 1];
                ++built;
                continue;
            }
            (bytes32 id, bool found) = _findForProvider(r, provider);
            if (!found) break;
            PaymentChannels.Channel memory c = channels.getChannel(id);
            // Sometimes stale, sometimes above the deposit.
            uint256 cumulative = bound(r >> 128, 0, c.redeemed + c.deposit);
            vouchers[i] = PaymentChannels.Voucher(id, c.epoch, cumulative);
            signatures[i] = _sign(id, vouchers[i]);
            ++built;
        }
        if (built < count) return;

        // What the batch should pay, voucher by voucher.
        Expected memory expected;
        Balances memory before = _balances(provider);
        for (uint256 i; i < count; ++i) {
            if (forged[i]) continue;
            bytes32 id = vouchers[i].channelId;
            PaymentChannels.Channel memory c = _simulated(sim, id);
            // What the contract skips: not open, not this provider's, another epoch, closed.
            if (c.deposit == 0 || c.provider != provider || vouchers[i].epoch != c.epoch) continue;
            if (c.closesAt != 0 && block.timestamp >= c.closesAt) continue;
            uint256 payable_ = Math.min(vouchers[i].cumulativeAmount, c.deposit);
            if (payable_ <= c.redeemed) continue;
            uint256 amount = payable_ - c.redeemed;
            c.redeemed = payable_;
            expected.paid += amount;
            uint256 royalty = Math.mulDiv(amount, c.royaltyBps, 10_000);
            uint256 fee = Math.mulDiv(amount, c.feeBps, 10_000);
            expected.royalty += royalty;
            expected.fee += fee;
            expected.providerShare += amount - royalty - fee;
            ghostRoyaltyOf[c.modelId] += royalty;
            _raiseHighest(id, c.epoch, payable_);
        }

        vm.prank(provider);
        uint256 paid = channels.redeemBatch(vouchers, signatures);

        if (paid != expected.paid) ghostSplitMismatches++;
        if (channels.earnings(provider) - before.provider != expected.providerShare) ghostSplitMismatches++;
        if (channels.earnings(fundingPool) - before.pool != expected.fee) ghostSplitMismatches++;
        if (_modelEarnings() - before.models != expected.royalty) ghostSplitMismatches++;
        ghostPaid += paid;
        ghostRoyalty += expected.royalty;
        ghostFee += expected.fee;
        ghostProviderShare += expected.providerShare;
        calls["redeemBatch"]++;
    }

    function startClose(uint256 channelSeed) external useTime {
        (bytes32 id, bool found) = _find(channelSeed, _isOpenAndNotClosing);
        if (!found) return;
        vm.prank(_senders[_senderIndexOf[id]]);
        channels.startClose(id);
        calls["startClose"]++;
    }

    function warp(uint256 seconds_) external {
        currentTime += bound(seconds_, 1, 2 hours);
        calls["warp"]++;
    }

    function withdraw(uint256 channelSeed) external useTime {
        (bytes32 id, bool found) = _find(channelSeed, _isWithdrawable);
        if (!found) return;
        PaymentChannels.Channel memory c = channels.getChannel(id);
        uint256 balanceBefore = usd.balanceOf(c.sender);
        vm.prank(c.sender);
        uint256 refund = channels.withdraw(id);
        if (refund != c.deposit - c.redeemed) ghostRefundMismatches++;
        if (usd.balanceOf(c.sender) - balanceBefore != refund) ghostRefundMismatches++;
        ghostRefunded += refund;
        calls["withdraw"]++;
    }

    function withdrawEarnings(uint256 accountSeed) external useTime {
        address[] memory accounts = _earners();
        for (uint256 i; i < accounts.length; ++i) {
            address account = accounts[(accountSeed % accounts.length + i) % accounts.length];
            uint256 owed = channels.earnings(account);
            if (owed == 0) continue;
            vm.prank(account);
            uint256 amount = channels.withdrawEarnings(account);
            if (amount != owed) ghostRefundMismatches++;
            ghostEarningsWithdrawn += amount;
            if (account == fundingPool) ghostFeesWithdrawn += amount;
            calls["withdrawEarnings"]++;
            return;
        }
    }

    /// @dev The model's owners before the current one try first, and are refused; then the current
    ///      owner withdraws, to itself or to a wallet of its own.
    function withdrawModelEarnings(uint256 modelSeed, bool toWallet) external useTime {
        uint256 modelId = _modelIds[modelSeed % _modelIds.length];
        uint256 owed = channels.modelEarnings(modelId);
        if (owed == 0) return;
        address owner = models.ownerOf(modelId);
        for (uint256 i; i < _creators.length; ++i) {
            address other = _creators[i];
            if (other == owner) continue;
            vm.prank(other);
            (bool ok, bytes memory result) =
                address(channels).call(abi.encodeCall(PaymentChannels.withdrawModelEarnings, (modelId, other)));
            if (ok) ghostUnauthorizedWithdrawals++;
            else if (
                keccak256(result)
                    != keccak256(abi.encodeWithSelector(PaymentChannels.NotModelOwner.selector, modelId, other))
            ) ghostUnexpectedErrors++;
        }
        address to = toWallet ? royaltyWallet : owner;
        uint256 balanceBefore = usd.balanceOf(to);
        vm.prank(owner);
        uint256 amount = channels.withdrawModelEarnings(modelId, to);
        if (amount != owed || usd.balanceOf(to) - balanceBefore != amount) ghostRefundMismatches++;
        if (channels.modelEarnings(modelId) != 0) ghostRefundMismatches++;
        ghostModelEarningsWithdrawn += amount;
        ghostRoyaltyWithdrawnOf[modelId] += amount;
        calls["withdrawModelEarnings"]++;
    }

    function transferModel(uint256 modelSeed) external useTime {
        uint256 modelId = _modelIds[modelSeed % _modelIds.length];
        address owner = models.ownerOf(modelId);
        address to = owner == _creators[0] ? _creators[1] : _creators[0];
        vm.prank(owner);
        models.transferFrom(owner, to, modelId);
        calls["transferModel"]++;
    }

    // ---------------------------------------------------------------- views for the invariants

    function channelIds() external view returns (bytes32[] memory) {
        return _channelIds;
    }

    function earners() external view returns (address[] memory) {
        return _earners();
    }

    function modelIds() external view returns (uint256[] memory) {
        return _modelIds;
    }

    function creators() external view returns (address[] memory) {
        return _creators;
    }

    // ---------------------------------------------------------------- internal

    struct Balances {
        uint256 provider;
        uint256 pool;
        uint256 models;
    }

    /// @dev Channel states as a batch redemption changes them, keyed by id.
    struct Simulation {
        bytes32[] ids;
        PaymentChannels.Channel[] states;
    }

    struct Expected {
        uint256 paid;
        uint256 royalty;
        uint256 fee;
        uint256 providerShare;
    }

    function _parties(bytes32 id)
        internal
        view
        returns (address sender, address provider, uint256 modelId, uint256 salt)
    {
        uint256 index;
        for (; index < _channelIds.length; ++index) {
            if (_channelIds[index] == id) break;
        }
        salt = index % SALTS;
        index /= SALTS;
        uint256 perSender = PROVIDERS * _modelIds.length;
        sender = _senders[index / perSender];
        provider = _providers[(index % perSender) / _modelIds.length];
        modelId = _modelIds[index % _modelIds.length];
    }

    function _find(uint256 seed, function(PaymentChannels.Channel memory) view returns (bool) predicate)
        internal
        view
        returns (bytes32 id, bool found)
    {
        uint256 n = _channelIds.length;
        for (uint256 i; i < n; ++i) {
            id = _channelIds[(seed % n + i) % n];
            if (predicate(channels.getChannel(id))) return (id, true);
        }
        return (bytes32(0), false);
    }

    function _findForProvider(uint256 seed, address provider) internal view returns (bytes32 id, bool found) {
        uint256 n = _channelIds.length;
        for (uint256 i; i < n; ++i) {
            id = _channelIds[(seed % n + i) % n];
            PaymentChannels.Channel memory c = channels.getChannel(id);
            if (c.provider == provider && _isRedeemable(c)) return (id, true);
        }
        return (bytes32(0), false);
    }

    function _isOpenAndNotClosing(PaymentChannels.Channel memory c) internal pure returns (bool) {
        return c.deposit != 0 && c.closesAt == 0;
    }

    function _isRedeemable(PaymentChannels.Channel memory c) internal view returns (bool) {
        return c.deposit != 0 && (c.closesAt == 0 || block.timestamp < c.closesAt);
    }

    function _isWithdrawable(PaymentChannels.Channel memory c) internal view returns (bool) {
        return c.deposit != 0 && c.closesAt != 0 && block.timestamp >= c.closesAt;
    }

    function _hasOldEpoch(PaymentChannels.Channel memory c) internal pure returns (bool) {
        return c.epoch != 0;
    }

    function _sign(bytes32 id, PaymentChannels.Voucher memory voucher) internal view returns (bytes memory) {
        return signDigest(_senderKeys[_senderIndexOf[id]], channels.hashVoucher(voucher));
    }

    /// @dev What `provider`, the funding pool and the models have been credited and not withdrawn.
    function _balances(address provider) internal view returns (Balances memory b) {
        b.provider = channels.earnings(provider);
        b.pool = channels.earnings(fundingPool);
        b.models = _modelEarnings();
    }

    function _modelEarnings() internal view returns (uint256 sum) {
        for (uint256 i; i < _modelIds.length; ++i) {
            sum += channels.modelEarnings(_modelIds[i]);
        }
    }

    function _earners() internal view returns (address[] memory accounts) {
        accounts = new address[](_providers.length + _creators.length + 1);
        uint256 k;
        for (uint256 i; i < _providers.length; ++i) {
            accounts[k++] = _providers[i];
        }
        for (uint256 i; i < _creators.length; ++i) {
            accounts[k++] = _creators[i];
        }
        accounts[k] = fundingPool;
    }

    /// @dev Checks one paid redemption against the expected split and records it.
    function _recordPayment(
        bytes32 id,
        PaymentChannels.Channel memory c,
        uint256 cumulative,
        uint256 paid,
        Balances memory before
    ) internal {
        uint256 payable_ = Math.min(cumulative, c.deposit);
        uint256 amount = payable_ - c.redeemed;
        uint256 royalty = Math.mulDiv(amount, c.royaltyBps, 10_000);
        uint256 fee = Math.mulDiv(amount, c.feeBps, 10_000);
        uint256 providerShare = amount - royalty - fee;
        if (paid != amount) ghostSplitMismatches++;
        if (channels.earnings(c.provider) - before.provider != providerShare) ghostSplitMismatches++;
        if (channels.earnings(fundingPool) - before.pool != fee) ghostSplitMismatches++;
        if (_modelEarnings() - before.models != royalty) ghostSplitMismatches++;
        if (channels.getChannel(id).redeemed != payable_) ghostSplitMismatches++;
        ghostPaid += paid;
        ghostRoyalty += royalty;
        ghostRoyaltyOf[c.modelId] += royalty;
        ghostFee += fee;
        ghostProviderShare += providerShare;
        _raiseHighest(id, c.epoch, payable_);
    }

    /// @dev Records that a voucher paid up to `payable_` on this channel epoch.
    function _raiseHighest(bytes32 id, uint64 epoch, uint256 payable_) internal {
        uint256 highest = ghostHighestVoucher[id][epoch];
        if (payable_ > highest) {
            ghostSumHighestVoucher += payable_ - highest;
            ghostHighestVoucher[id][epoch] = payable_;
        }
    }

    /// @dev The channel's state as the batch has left it so far (read from the chain the first time).
    function _simulated(Simulation memory sim, bytes32 id) internal view returns (PaymentChannels.Channel memory) {
        for (uint256 i; i < sim.ids.length; ++i) {
            if (sim.ids[i] == id) return sim.states[i];
            if (sim.ids[i] == bytes32(0)) {
                sim.ids[i] = id;
                sim.states[i] = channels.getChannel(id);
                return sim.states[i];
            }
        }
        revert("batch simulation overflow");
    }

    function _expectFailure(bool ok, bytes memory result, bytes memory expected) internal {
        if (ok) ghostReplaysAccepted++;
        else if (keccak256(result) != keccak256(expected)) ghostUnexpectedErrors++;
    }
}
