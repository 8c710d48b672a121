// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {AttestationRegistry} from "../src/AttestationRegistry.sol";

/// @notice Attestations: issued, replaced, expired at their boundary, revoked, in batches, refused
///         when malformed.
contract AttestationRegistryTest is Test {
    AttestationRegistry internal registry;
    address internal issuer;
    address internal alice;

    function setUp() public {
        vm.warp(1_700_000_000);
        registry = new AttestationRegistry();
        issuer = makeAddr("issuer");
        alice = makeAddr("alice");
    }

    function test_attest_isReadBackPerIssuer() public {
        vm.expectEmit(address(registry));
        emit AttestationRegistry.Attested(issuer, alice, keccak256("alice"), 0);
        vm.prank(issuer);
        registry.attest(alice, keccak256("alice"), 0);
        assertEq(registry.uidOf(issuer, alice), keccak256("alice"));
        assertEq(registry.uidOf(makeAddr("otherIssuer"), alice), bytes32(0), "other issuers attest nothing");
    }

    function test_attest_replacesTheIssuersEarlierAttestation() public {
        vm.startPrank(issuer);
        registry.attest(alice, keccak256("a"), 0);
        registry.attest(alice, keccak256("b"), 0);
        vm.stopPrank();
        assertEq(registry.uidOf(issuer, alice), keccak256("b"));
    }

    function test_uidOf_expiresAtItsExpiry() public {
        uint64 expiresAt = uint64(block.timestamp + 100);
        vm.prank(issuer);
        registry.attest(alice, keccak256("a"), expiresAt);
        vm.warp(expiresAt - 1);
        assertEq(registry.uidOf(issuer, alice), keccak256("a"));
        vm.warp(expiresAt);
        assertEq(registry.uidOf(issuer, alice), bytes32(0));
        assertEq(registry.getAttestation(issuer, alice).uid, keccak256("a"), "still stored");
    }

    function test_revoke_removesItAndRefusesTwice() public {
        vm.startPrank(issuer);
        registry.attest(alice, keccak256("a"), 0);
        vm.expectEmit(address(registry));
        emit AttestationRegistry.Revoked(issuer, alice, keccak256("a"));
        registry.revoke(alice);
        assertEq(registry.uidOf(issuer, alice), bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(AttestationRegistry.NotAttested.selector, issuer, alice));
        registry.revoke(alice);
        vm.stopPrank();
    }

    function test_attestBatch_attestsEveryoneOrRefusesMismatchedLengths() public {
        address[] memory subjects = new address[](2);
        (subjects[0], subjects[1]) = (alice, makeAddr("bob"));
        bytes32[] memory uids = new bytes32[](2);
        (uids[0], uids[1]) = (keccak256("a"), keccak256("b"));
        vm.prank(issuer);
        registry.attestBatch(subjects, uids, 0);
        assertEq(registry.uidOf(issuer, subjects[1]), keccak256("b"));
        bytes32[] memory short = new bytes32[](1);
        vm.prank(issuer);
        vm.expectRevert(abi.encodeWithSelector(AttestationRegistry.LengthMismatch.selector, 2, 1));
        registry.attestBatch(subjects, short, 0);
    }

    function test_attest_refusesMalformedInput() public {
        vm.startPrank(issuer);
        vm.expectRevert(AttestationRegistry.ZeroSubject.selector);
        registry.attest(address(0), keccak256("a"), 0);
        vm.expectRevert(AttestationRegistry.ZeroUid.selector);
        registry.attest(alice, bytes32(0), 0);
        uint64 now_ = uint64(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(AttestationRegistry.ExpiryNotInFuture.selector, now_, now_));
        registry.attest(alice, keccak256("a"), now_);
        vm.stopPrank();
    }
}
