// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC2981} from "@openzeppelin/contracts/interfaces/IERC2981.sol";
import {Test} from "./utils/Test.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";

contract ModelRegistryTest is Test {
    ModelRegistry internal models;
    address internal creator;
    address internal buyer;

    bytes32 internal constant WEIGHTS = keccak256("weights");
    bytes32 internal constant MANIFEST = keccak256("manifest");

    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);

    function setUp() public {
        models = new ModelRegistry();
        creator = makeAddr("creator");
        buyer = makeAddr("buyer");
    }

    function _register(bytes32 weightsHash, uint16 royaltyBps) internal returns (uint256) {
        vm.prank(creator);
        return models.register("llama-3-8b", weightsHash, MANIFEST, "ipfs://llama", royaltyBps);
    }

    // ---------------------------------------------------------------- constructor

    function test_constructor_setsNameAndSymbol() public view {
        assertEq(models.name(), "Gotong Model");
        assertEq(models.symbol(), "GMODEL");
        assertEq(models.modelCount(), 0);
        assertEq(uint256(models.MAX_ROYALTY_BPS()), 5000);
    }

    // ---------------------------------------------------------------- register

    function test_register_mintsTokenToCreatorWithIdsFromOne() public {
        uint256 first = _register(WEIGHTS, 500);
        uint256 second = _register(keccak256("other"), 0);
        assertEq(first, 1, "first id");
        assertEq(second, 2, "second id");
        assertEq(models.ownerOf(1), creator);
        assertEq(models.balanceOf(creator), 2);
        assertEq(models.modelCount(), 2);
    }

    function test_register_storesModel() public {
        uint256 id = _register(WEIGHTS, 500);
        ModelRegistry.Model memory model = models.getModel(id);
        assertEq(model.weightsHash, WEIGHTS);
        assertEq(model.manifestHash, MANIFEST);
        assertEq(uint256(model.royaltyBps), 500);
        assertEq(model.name, "llama-3-8b");
        assertEq(model.metadataURI, "ipfs://llama");
        assertEq(models.modelIdOfWeights(WEIGHTS), id);
        assertEq(uint256(models.royaltyBpsOf(id)), 500);
        assertTrue(models.exists(id));
    }

    function test_register_emitsTransferAndModelRegistered() public {
        vm.expectEmit(address(models));
        emit Transfer(address(0), creator, 1);
        vm.expectEmit(address(models));
        emit ModelRegistry.ModelRegistered(1, creator, WEIGHTS, MANIFEST, 500, "llama-3-8b", "ipfs://llama");
        _register(WEIGHTS, 500);
    }

    function test_register_acceptsMaximumRoyalty() public {
        uint256 id = _register(WEIGHTS, 5000);
        assertEq(uint256(models.getModel(id).royaltyBps), 5000);
    }

    function test_register_revertsWhenRoyaltyTooHigh() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.RoyaltyTooHigh.selector, uint16(5001), uint16(5000)));
        _register(WEIGHTS, 5001);
    }

    function test_register_revertsWhenWeightsAlreadyRegistered() public {
        uint256 id = _register(WEIGHTS, 500);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelAlreadyRegistered.selector, WEIGHTS, id));
        vm.prank(buyer);
        models.register("copy", WEIGHTS, MANIFEST, "ipfs://copy", 0);
    }

    function test_register_revertsWhenWeightsHashEmpty() public {
        vm.expectRevert(ModelRegistry.EmptyWeightsHash.selector);
        _register(bytes32(0), 500);
    }

    function test_register_revertsWhenNameEmpty() public {
        vm.expectRevert(ModelRegistry.EmptyName.selector);
        vm.prank(creator);
        models.register("", WEIGHTS, MANIFEST, "ipfs://llama", 500);
    }

    function testFuzz_register_acceptsAnyRoyaltyUpToMaximum(uint16 royaltyBps, bytes32 weightsHash) public {
        vm.assume(weightsHash != bytes32(0));
        royaltyBps = uint16(bound(royaltyBps, 0, 5000));
        uint256 id = _register(weightsHash, royaltyBps);
        assertEq(uint256(models.getModel(id).royaltyBps), uint256(royaltyBps));
        assertEq(models.modelIdOfWeights(weightsHash), id);
    }

    function testFuzz_register_revertsAboveMaximumRoyalty(uint16 royaltyBps) public {
        royaltyBps = uint16(bound(royaltyBps, 5001, type(uint16).max));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.RoyaltyTooHigh.selector, royaltyBps, uint16(5000)));
        _register(WEIGHTS, royaltyBps);
    }

    // ---------------------------------------------------------------- setRoyalty

    function test_setRoyalty_updatesAndEmits() public {
        uint256 id = _register(WEIGHTS, 500);
        vm.expectEmit(address(models));
        emit ModelRegistry.RoyaltyChanged(id, 700);
        vm.prank(creator);
        models.setRoyalty(id, 700);
        assertEq(uint256(models.getModel(id).royaltyBps), 700);
    }

    function test_setRoyalty_revertsWhenNotOwner() public {
        uint256 id = _register(WEIGHTS, 500);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, buyer));
        vm.prank(buyer);
        models.setRoyalty(id, 0);
    }

    function test_setRoyalty_revertsWhenTooHigh() public {
        uint256 id = _register(WEIGHTS, 500);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.RoyaltyTooHigh.selector, uint16(6000), uint16(5000)));
        vm.prank(creator);
        models.setRoyalty(id, 6000);
    }

    function test_setRoyalty_revertsWhenModelMissing() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelNotFound.selector, 7));
        vm.prank(creator);
        models.setRoyalty(7, 0);
    }

    function test_setRoyalty_followsTokenTransfer() public {
        uint256 id = _register(WEIGHTS, 500);
        vm.prank(creator);
        models.transferFrom(creator, buyer, id);

        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, creator));
        vm.prank(creator);
        models.setRoyalty(id, 0);

        vm.prank(buyer);
        models.setRoyalty(id, 0);
        assertEq(uint256(models.getModel(id).royaltyBps), 0);
    }

    // ---------------------------------------------------------------- setMetadataURI

    function test_setMetadataURI_updatesTokenURIAndEmits() public {
        uint256 id = _register(WEIGHTS, 500);
        vm.expectEmit(address(models));
        emit ModelRegistry.MetadataURIChanged(id, "ipfs://v2");
        vm.prank(creator);
        models.setMetadataURI(id, "ipfs://v2");
        assertEq(models.tokenURI(id), "ipfs://v2");
        assertEq(models.getModel(id).metadataURI, "ipfs://v2");
    }

    function test_setMetadataURI_revertsWhenNotOwner() public {
        uint256 id = _register(WEIGHTS, 500);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, id, buyer));
        vm.prank(buyer);
        models.setMetadataURI(id, "ipfs://evil");
    }

    function test_setMetadataURI_revertsWhenModelMissing() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelNotFound.selector, 1));
        models.setMetadataURI(1, "ipfs://x");
    }

    // ---------------------------------------------------------------- views

    function test_getModel_revertsWhenModelMissing() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelNotFound.selector, 0));
        models.getModel(0);
        _register(WEIGHTS, 500);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelNotFound.selector, 2));
        models.getModel(2);
    }

    function test_royaltyBpsOf_revertsWhenModelMissing() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelNotFound.selector, 1));
        models.royaltyBpsOf(1);
    }

    function test_exists_isFalseOutsideIssuedRange() public {
        assertFalse(models.exists(0));
        assertFalse(models.exists(1));
        _register(WEIGHTS, 0);
        assertTrue(models.exists(1));
        assertFalse(models.exists(2));
    }

    function test_modelIdOfWeights_isZeroWhenUnknown() public view {
        assertEq(models.modelIdOfWeights(WEIGHTS), 0);
    }

    function test_tokenURI_returnsMetadataURI() public {
        uint256 id = _register(WEIGHTS, 500);
        assertEq(models.tokenURI(id), "ipfs://llama");
    }

    function test_tokenURI_revertsWhenModelMissing() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelNotFound.selector, 3));
        models.tokenURI(3);
    }

    function test_royaltyInfo_paysCurrentOwner() public {
        uint256 id = _register(WEIGHTS, 1234);
        (address receiver, uint256 amount) = models.royaltyInfo(id, 1_000_000);
        assertEq(receiver, creator);
        assertEq(amount, 123_400);

        vm.prank(creator);
        models.safeTransferFrom(creator, buyer, id);
        (receiver,) = models.royaltyInfo(id, 1_000_000);
        assertEq(receiver, buyer);
    }

    function test_royaltyInfo_doesNotOverflowOnHugePrice() public {
        uint256 id = _register(WEIGHTS, 5000);
        (, uint256 amount) = models.royaltyInfo(id, type(uint256).max);
        assertEq(amount, type(uint256).max / 2);
    }

    function test_royaltyInfo_revertsWhenModelMissing() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelNotFound.selector, 1));
        models.royaltyInfo(1, 100);
    }

    function test_supportsInterface_erc721MetadataAnd2981() public view {
        assertTrue(models.supportsInterface(type(IERC721).interfaceId), "ERC-721");
        assertTrue(models.supportsInterface(type(IERC721Metadata).interfaceId), "ERC-721 metadata");
        assertTrue(models.supportsInterface(type(IERC2981).interfaceId), "ERC-2981");
        assertTrue(models.supportsInterface(type(IERC165).interfaceId), "ERC-165");
        assertFalse(models.supportsInterface(0xffffffff), "0xffffffff");
    }
}
