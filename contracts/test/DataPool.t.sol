// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LineageFixture} from "./utils/LineageFixture.sol";
import {DataPool} from "../src/DataPool.sol";
import {DataPoolFactory} from "../src/DataPoolFactory.sol";

/// @notice DataPool: a dataset owned by its contributors, earnings split by share, exactly.
contract DataPoolTest is LineageFixture {
    DataPoolFactory internal factory;
    DataPool internal pool;
    address internal alice;
    address internal bob;
    address internal carol;
    uint256 internal fineTune;

    function setUp() public override {
        super.setUp();
        factory = new DataPoolFactory(channels);
        alice = makeAddr("alice");
        bob = makeAddr("bob");
        carol = makeAddr("carol");
        address[] memory who = new address[](3);
        who[0] = alice;
        who[1] = bob;
        who[2] = carol;
        uint256[] memory shares = new uint256[](3);
        shares[0] = 50;
        shares[1] = 30;
        shares[2] = 20;
        pool = factory.createPool("Wiki pool", "WIKI", _info("wiki"), who, shares);
        fineTune =
            _registerOfferedDerivative(creator, 1000, _parents(modelId, FINE_TUNE, 3000), _data(pool.datasetId(), 3000));
    }

    function _info(string memory name) internal pure returns (DataPool.DatasetInfo memory) {
        return DataPool.DatasetInfo({
            contentHash: keccak256(bytes(name)),
            name: name,
            manifestURI: "ipfs://pool-manifest",
            manifestHash: keccak256("pool-manifest")
        });
    }

    /// @dev Pays the fine-tune so that its dataset earns `royalty * 30%` once flowed.
    function _earn(uint256 amount) internal {
        if (_channel == bytes32(0)) {
            _channel = _open(sender, provider, fineTune, amount);
        } else {
            usd.mint(sender, amount);
            vm.startPrank(sender);
            usd.approve(address(channels), amount);
            channels.topUp(_channel, amount);
            vm.stopPrank();
        }
        _paid += amount;
        _redeem(_channel, 0, _paid);
        channels.flowRoyalties(fineTune);
    }

    bytes32 private _channel;
    uint256 private _paid;

    function test_createPool_registersDatasetOwnedByPoolAndMintsShares() public view {
        uint256 id = pool.datasetId();
        assertEq(datasets.ownerOf(id), address(pool));
        assertEq(factory.poolOf(id), address(pool));
        assertEq(pool.balanceOf(alice), 50);
        assertEq(pool.totalSupply(), 100);
        assertEq(address(pool.payToken()), address(usd));
    }

    function test_createPool_refusals() public {
        address[] memory who = new address[](1);
        who[0] = alice;
        uint256[] memory none = new uint256[](0);
        vm.expectRevert(abi.encodeWithSelector(DataPool.LengthMismatch.selector, 1, 0));
        factory.createPool("p", "P", _info("a"), who, none);
        vm.expectRevert(DataPool.NoContributors.selector);
        factory.createPool("p", "P", _info("b"), new address[](0), none);
        uint256[] memory zero = new uint256[](1);
        vm.expectRevert(abi.encodeWithSelector(DataPool.ZeroShares.selector, alice));
        factory.createPool("p", "P", _info("c"), who, zero);
        uint256[] memory huge = new uint256[](1);
        huge[0] = 2 ** 96 + 1;
        vm.expectRevert(abi.encodeWithSelector(DataPool.TooManyShares.selector, 2 ** 96 + 1, 2 ** 96));
        factory.createPool("p", "P", _info("d"), who, huge);
    }

    function test_collectAndClaim_splitsByShareExactly() public {
        _earn(10_000_000); // royalty 1,000,000; dataset 300,000
        vm.expectEmit(address(pool));
        emit DataPool.Collected(300_000, 300_000);
        assertEq(pool.collect(), 300_000);
        vm.prank(alice);
        assertEq(pool.claim(), 150_000);
        vm.prank(bob);
        assertEq(pool.claim(), 90_000);
        vm.prank(carol);
        assertEq(pool.claim(), 60_000);
        assertEq(usd.balanceOf(alice), 150_000);
        assertEq(usd.balanceOf(address(pool)), 0);
        vm.expectRevert(abi.encodeWithSelector(DataPool.NothingToClaim.selector, alice));
        vm.prank(alice);
        pool.claim();
        vm.expectRevert(DataPool.NothingToCollect.selector);
        pool.collect();
    }

    function test_transfer_keepsEarnedEntitlementWithSeller() public {
        _earn(10_000_000);
        pool.collect(); // 300,000: alice 150,000 earned before the transfer
        vm.prank(alice);
        pool.transfer(bob, 25);
        _earn(10_000_000);
        pool.collect(); // another 300,000: alice 25%, bob 55%, carol 20%
        assertEq(pool.claimable(alice), 150_000 + 75_000);
        assertEq(pool.claimable(bob), 90_000 + 165_000);
        assertEq(pool.claimable(carol), 60_000 + 60_000);
    }

    function test_dust_staysWithHoldersAndIsPaidLater() public {
        // 7 units over 50/30/20: alice 3.5, bob 2.1, carol 1.4 -> floors 3, 2, 1; one unit of dust.
        usd.mint(address(pool), 7);
        pool.collect();
        assertEq(pool.claimable(alice) + pool.claimable(bob) + pool.claimable(carol), 6);
        // 3 more: alice 5.0, bob 3.0, carol 2.0: the fractions completed, nothing is left over.
        usd.mint(address(pool), 3);
        pool.collect();
        assertEq(pool.claimable(alice), 5);
        assertEq(pool.claimable(bob), 3);
        assertEq(pool.claimable(carol), 2);
    }

    function test_dust_ofALeavingHolderPassesToTheRecipient() public {
        usd.mint(address(pool), 7); // carol 1.4
        pool.collect();
        vm.prank(carol);
        pool.transfer(bob, 20); // carol leaves: her 0.4 goes to bob (2.1 + 0.4 = 2.5)
        assertEq(pool.claimable(carol), 1);
        usd.mint(address(pool), 10); // bob 50% of 10 = 5 -> 7.5; alice 5 -> 8.5
        pool.collect();
        assertEq(pool.claimable(bob), 7);
        assertEq(pool.claimable(alice), 8);
        usd.mint(address(pool), 2); // bob 8.5, alice 9.5
        pool.collect();
        assertEq(pool.claimable(alice) + pool.claimable(bob) + pool.claimable(carol), 19 - 1); // one unit in halves
        usd.mint(address(pool), 1); // bob 9.0, alice 10.0
        pool.collect();
        assertEq(pool.claimable(alice) + pool.claimable(bob) + pool.claimable(carol), 20);
    }

    /// @notice Whatever the transfers and income, claims never exceed what was collected, and
    ///         what holders are owed plus their fractions is exactly what was collected.
    function testFuzz_pool_neverPaysMoreThanCollected(uint256[6] memory amounts, uint256[6] memory moves) public {
        address[3] memory holders = [alice, bob, carol];
        for (uint256 i; i < 6; ++i) {
            uint256 amount = bound(amounts[i], 1, 1e12);
            usd.mint(address(pool), amount);
            pool.collect();
            address from = holders[moves[i] % 3];
            address to = holders[(moves[i] / 3) % 3];
            uint256 value = bound(moves[i] / 9, 0, pool.balanceOf(from));
            vm.prank(from);
            pool.transfer(to, value);
            if (moves[i] % 2 == 0 && pool.claimable(to) != 0) {
                vm.prank(to);
                pool.claim();
            }
        }
        uint256 owed;
        for (uint256 i; i < 3; ++i) {
            owed += pool.claimable(holders[i]);
        }
        uint256 collected = pool.collected();
        assertEq(usd.balanceOf(address(pool)), collected - pool.claimed(), "pool holds what is unclaimed");
        assertLe(owed + pool.claimed(), collected, "never more than collected");
        assertLe(collected - pool.claimed() - owed, 2, "dust is under one unit per current holder");
    }
}
