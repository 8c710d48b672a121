// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

import {Eip3009Signing} from "./utils/Eip3009Signing.sol";
import {TestToken} from "../src/TestToken.sol";
import {ERC3009} from "@openzeppelin/contracts/token/ERC20/extensions/draft-ERC3009.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

contract TestTokenTest is Eip3009Signing {
    TestToken internal token;
    address internal payer;
    uint256 internal payerKey;
    address internal payee;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);

    function setUp() public {
        vm.warp(1_700_000_000);
        token = new TestToken("Gotong Test USD", "tUSD", 6);
        (payer, payerKey) = makeAddrAndKey("payer");
        payee = makeAddr("payee");
        token.mint(payer, 1_000e6);
    }

    function test_constructor_setsNameSymbolAndDecimals() public view {
        assertEq(token.name(), "Gotong Test USD");
        assertEq(token.symbol(), "tUSD");
        assertEq(uint256(token.decimals()), 6);
        assertEq(token.totalSupply(), 1_000e6);
    }

    function test_decimals_canBeEighteen() public {
        TestToken other = new TestToken("Eighteen", "E18", 18);
        assertEq(uint256(other.decimals()), 18);
    }

    function test_mint_isOpenToAnyone() public {
        address anyone = makeAddr("anyone");
        address to = makeAddr("to");
        vm.prank(anyone);
        token.mint(to, 123);
        assertEq(token.balanceOf(to), 123);
    }

    function testFuzz_mint_creditsExactly(address to, uint256 amount) public {
        vm.assume(to != address(0) && to != payer);
        amount = bound(amount, 0, type(uint256).max - token.totalSupply());
        token.mint(to, amount);
        assertEq(token.balanceOf(to), amount);
    }

    function test_eip712Domain_isUsdcStyle() public view {
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) = token.eip712Domain();
        assertEq(name, "Gotong Test USD");
        assertEq(version, "2");
        assertEq(token.version(), "2");
        assertEq(chainId, block.chainid);
        assertEq(verifyingContract, address(token));
    }

    function _authorization(uint256 value, bytes32 nonce) internal view returns (Authorization memory) {
        return Authorization(payer, payee, value, 0, block.timestamp + 60, nonce);
    }

    function _transfer(Authorization memory a, Signature memory s) internal {
        token.transferWithAuthorization(a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, s.v, s.r, s.s);
    }

    function testFuzz_transferWithAuthorization_movesExactlyTheValue(uint256 value, bytes32 nonce) public {
        value = bound(value, 0, 1_000e6);
        Authorization memory a = _authorization(value, nonce);
        Signature memory s = _signAuthorization(payerKey, address(token), token.name(), TRANSFER_TYPEHASH, a);
        assertFalse(token.authorizationState(payer, nonce));
        vm.expectEmit(address(token));
        emit AuthorizationUsed(payer, nonce);
        vm.expectEmit(address(token));
        emit Transfer(payer, payee, value);
        vm.prank(makeAddr("facilitator"));
        _transfer(a, s);
        assertEq(token.balanceOf(payee), value);
        assertEq(token.balanceOf(payer), 1_000e6 - value);
        assertTrue(token.authorizationState(payer, nonce));
    }

    function test_transferWithAuthorization_revertsWhenNonceReused() public {
        Authorization memory a = _authorization(10e6, keccak256("n"));
        Signature memory s = _signAuthorization(payerKey, address(token), token.name(), TRANSFER_TYPEHASH, a);
        _transfer(a, s);
        vm.expectRevert(abi.encodeWithSelector(ERC3009.ERC3009UsedAuthorization.selector, payer, a.nonce));
        _transfer(a, s);
        assertEq(token.balanceOf(payee), 10e6);
    }

    function test_transferWithAuthorization_revertsWhenExpired() public {
        Authorization memory a = _authorization(10e6, keccak256("n"));
        Signature memory s = _signAuthorization(payerKey, address(token), token.name(), TRANSFER_TYPEHASH, a);
        vm.warp(a.validBefore);
        vm.expectRevert(abi.encodeWithSelector(ERC3009.ERC3009InvalidAuthorizationTime.selector, a.validAfter, a.validBefore));
        _transfer(a, s);
    }

    function test_transferWithAuthorization_revertsWhenNotYetValid() public {
        Authorization memory a = _authorization(10e6, keccak256("n"));
        a.validAfter = block.timestamp;
        Signature memory s = _signAuthorization(payerKey, address(token), token.name(), TRANSFER_TYPEHASH, a);
        vm.expectRevert(abi.encodeWithSelector(ERC3009.ERC3009InvalidAuthorizationTime.selector, a.validAfter, a.validBefore));
        _transfer(a, s);
    }

    function test_transferWithAuthorization_revertsWhenSignedByAnotherKey() public {
        (, uint256 otherKey) = makeAddrAndKey("other");
        Authorization memory a = _authorization(10e6, keccak256("n"));
        Signature memory s = _signAuthorization(otherKey, address(token), token.name(), TRANSFER_TYPEHASH, a);
        vm.expectRevert(ERC3009.ERC3009InvalidSignature.selector);
        _transfer(a, s);
    }

    function test_transferWithAuthorization_revertsWhenSignedForAnotherToken() public {
        TestToken other = new TestToken("Gotong Test USD", "tUSD", 6);
        Authorization memory a = _authorization(10e6, keccak256("n"));
        Signature memory s = _signAuthorization(payerKey, address(other), token.name(), TRANSFER_TYPEHASH, a);
        vm.expectRevert(ERC3009.ERC3009InvalidSignature.selector);
        _transfer(a, s);
    }

    function test_transferWithAuthorization_revertsWhenAmountChanged() public {
        Authorization memory a = _authorization(10e6, keccak256("n"));
        Signature memory s = _signAuthorization(payerKey, address(token), token.name(), TRANSFER_TYPEHASH, a);
        a.value = 11e6;
        vm.expectRevert(ERC3009.ERC3009InvalidSignature.selector);
        _transfer(a, s);
    }

    function test_receiveWithAuthorization_paysOnlyWhenTheCallerIsThePayee() public {
        Authorization memory a = _authorization(10e6, keccak256("n"));
        Signature memory s = _signAuthorization(payerKey, address(token), token.name(), RECEIVE_TYPEHASH, a);
        vm.prank(makeAddr("front-runner"));
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, payee));
        token.receiveWithAuthorization(a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, s.v, s.r, s.s);
        vm.prank(payee);
        token.receiveWithAuthorization(a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, s.v, s.r, s.s);
        assertEq(token.balanceOf(payee), 10e6);
    }

    function test_transferWithAuthorization_refusesAReceiveAuthorization() public {
        Authorization memory a = _authorization(10e6, keccak256("n"));
        Signature memory s = _signAuthorization(payerKey, address(token), token.name(), RECEIVE_TYPEHASH, a);
        vm.expectRevert(ERC3009.ERC3009InvalidSignature.selector);
        _transfer(a, s);
    }
}
