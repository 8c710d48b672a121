// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {LineageFixture} from "./utils/LineageFixture.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {DatasetRegistry} from "../src/DatasetRegistry.sol";

/// @notice ModelRegistry.registerDerivative: lineage recorded at registration, and every refusal.
contract ModelRegistryLineageTest is LineageFixture {
    address internal baseOwner;
    address internal dataOwner;

    function setUp() public override {
        super.setUp();
        baseOwner = creator;
        dataOwner = makeAddr("dataOwner");
    }

    function test_datasets_isDeployedByTheRegistry() public view {
        assertTrue(address(datasets).code.length != 0, "dataset registry deployed");
        assertEq(datasets.name(), "Gotong Dataset");
    }

    function test_registerDerivative_recordsParentsDatasetsAndDepth() public {
        uint256 datasetId = _registerDataset(dataOwner);
        ModelRegistry.Parent[] memory parents = _parents(modelId, FINE_TUNE, 3000);
        ModelRegistry.DataShare[] memory shares = _data(datasetId, 1500);
        uint256 expectedId = models.modelCount() + 1;
        vm.expectEmit(address(models));
        emit ModelRegistry.ModelDerived(expectedId, modelId, FINE_TUNE, 3000);
        vm.expectEmit(address(models));
        emit ModelRegistry.DatasetUsed(expectedId, datasetId, 1500);
        uint256 child = _registerDerivative(makeAddr("tuner"), 800, parents, shares);
        assertEq(child, expectedId);

        ModelRegistry.Parent[] memory got = models.parentsOf(child);
        assertEq(got.length, 1);
        assertEq(got[0].modelId, modelId);
        assertEq(uint256(got[0].relation), FINE_TUNE);
        assertEq(uint256(got[0].shareBps), 3000);
        ModelRegistry.DataShare[] memory gotData = models.datasetsOf(child);
        assertEq(gotData.length, 1);
        assertEq(gotData[0].datasetId, datasetId);
        assertEq(uint256(gotData[0].shareBps), 1500);
        assertEq(uint256(models.depthOf(child)), 1);
        assertEq(uint256(models.depthOf(modelId)), 0);
        assertEq(models.ownerOf(child), makeAddr("tuner"));
        assertEq(uint256(models.royaltyBpsOf(child)), 800);
        assertTrue(models.hasRoyaltyStack(child));
        assertFalse(models.hasRoyaltyStack(modelId));
        (uint16 royaltyBps, bool stacked) = models.royaltyTermsOf(child);
        assertEq(uint256(royaltyBps), 800);
        assertTrue(stacked);
    }

    function test_registerDerivative_datasetsOnlyIsAStackAtDepthZero() public {
        uint256 id = _registerDerivative(creator, 500, _noParents(), _data(_registerDataset(dataOwner), 1000));
        assertEq(uint256(models.depthOf(id)), 0);
        assertTrue(models.hasRoyaltyStack(id));
        (uint256[] memory parentIds,,, uint16[] memory dataShares) = models.royaltyStackOf(id);
        assertEq(parentIds.length, 0);
        assertEq(uint256(dataShares[0]), 1000);
    }

    function test_registerDerivative_depthIsLongestChain() public {
        uint256 a = _registerDerivative(creator, 500, _parents(modelId, FINE_TUNE, 1000), _noData());
        uint256 b = _registerDerivative(creator, 500, _parents(a, QUANTISATION, 1000), _noData());
        ModelRegistry.Parent[] memory merge = new ModelRegistry.Parent[](2);
        merge[0] = ModelRegistry.Parent({modelId: modelId, relation: MERGE, shareBps: 1000});
        merge[1] = ModelRegistry.Parent({modelId: b, relation: MERGE, shareBps: 1000});
        uint256 c = _registerDerivative(creator, 500, merge, _noData());
        assertEq(uint256(models.depthOf(c)), 3);
    }

    function test_registerDerivative_acceptsDepthFiveRefusesSix() public {
        uint256 id = modelId;
        for (uint256 i; i < 5; ++i) {
            id = _registerDerivative(creator, 500, _parents(id, FINE_TUNE, 100), _noData());
        }
        assertEq(uint256(models.depthOf(id)), 5);
        _expectRegisterRevert(
            abi.encodeWithSelector(ModelRegistry.LineageTooDeep.selector, 6, 5), _parents(id, FINE_TUNE, 100), _noData()
        );
    }

    function test_registerDerivative_revertsWhenParentDoesNotExist() public {
        uint256 next = models.modelCount() + 1;
        // The id the derivative itself would get: naming itself as parent is a missing parent.
        _expectRegisterRevert(
            abi.encodeWithSelector(ModelRegistry.ParentNotFound.selector, next), _parents(next, FINE_TUNE, 100), _noData()
        );
        _expectRegisterRevert(
            abi.encodeWithSelector(ModelRegistry.ParentNotFound.selector, 0), _parents(0, FINE_TUNE, 100), _noData()
        );
        _expectRegisterRevert(
            abi.encodeWithSelector(ModelRegistry.ParentNotFound.selector, 99), _parents(99, FINE_TUNE, 100), _noData()
        );
    }

    function test_registerDerivative_revertsOnDuplicateParent() public {
        ModelRegistry.Parent[] memory parents = new ModelRegistry.Parent[](2);
        parents[0] = ModelRegistry.Parent({modelId: modelId, relation: MERGE, shareBps: 100});
        parents[1] = ModelRegistry.Parent({modelId: modelId, relation: MERGE, shareBps: 100});
        _expectRegisterRevert(abi.encodeWithSelector(ModelRegistry.DuplicateParent.selector, modelId), parents, _noData());
    }

    function test_registerDerivative_revertsOnUnknownRelation() public {
        _expectRegisterRevert(
            abi.encodeWithSelector(ModelRegistry.InvalidRelation.selector, modelId, 0), _parents(modelId, 0, 100), _noData()
        );
        _expectRegisterRevert(
            abi.encodeWithSelector(ModelRegistry.InvalidRelation.selector, modelId, 6), _parents(modelId, 6, 100), _noData()
        );
    }

    function test_registerDerivative_revertsWhenSharesExceedCap() public {
        uint256 datasetId = _registerDataset(dataOwner);
        _expectRegisterRevert(
            abi.encodeWithSelector(ModelRegistry.StackTooLarge.selector, 9001, 9000),
            _parents(modelId, FINE_TUNE, 8001),
            _data(datasetId, 1000)
        );
        // Exactly at the cap is allowed.
        _registerDerivative(creator, 500, _parents(modelId, FINE_TUNE, 8000), _data(datasetId, 1000));
    }

    function test_registerDerivative_revertsWhenShareBelowParentTerms() public {
        vm.expectEmit(address(models));
        emit ModelRegistry.DerivativeTermsChanged(modelId, 2500);
        vm.prank(baseOwner);
        models.setDerivativeTerms(modelId, 2500);
        assertEq(uint256(models.minDerivativeShareBps(modelId)), 2500);
        _expectRegisterRevert(
            abi.encodeWithSelector(ModelRegistry.ShareBelowParentTerms.selector, modelId, 2499, 2500),
            _parents(modelId, FINE_TUNE, 2499),
            _noData()
        );
        _registerDerivative(creator, 500, _parents(modelId, FINE_TUNE, 2500), _noData());
    }

    function test_registerDerivative_revertsWhenDatasetMissingOrRepeated() public {
        _expectRegisterRevert(
            abi.encodeWithSelector(ModelRegistry.DatasetNotFound.selector, 1), _noParents(), _data(1, 100)
        );
        uint256 datasetId = _registerDataset(dataOwner);
        ModelRegistry.DataShare[] memory shares = new ModelRegistry.DataShare[](2);
        shares[0] = ModelRegistry.DataShare({datasetId: datasetId, shareBps: 100});
        shares[1] = ModelRegistry.DataShare({datasetId: datasetId, shareBps: 100});
        _expectRegisterRevert(
            abi.encodeWithSelector(ModelRegistry.DuplicateDataset.selector, datasetId), _noParents(), shares
        );
    }

    function test_registerDerivative_revertsOnTooManyParentsOrDatasets() public {
        _expectRegisterRevert(
            abi.encodeWithSelector(ModelRegistry.TooManyParents.selector, 17, 16),
            new ModelRegistry.Parent[](17),
            _noData()
        );
        _expectRegisterRevert(
            abi.encodeWithSelector(ModelRegistry.TooManyDatasets.selector, 65, 64),
            _noParents(),
            new ModelRegistry.DataShare[](65)
        );
    }

    function test_registerDerivative_refusesRegisteredWeights() public {
        bytes32 weightsHash = models.getModel(modelId).weightsHash;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelAlreadyRegistered.selector, weightsHash, modelId));
        vm.prank(creator);
        models.registerDerivative("q4", weightsHash, bytes32(0), "", 500, _parents(modelId, QUANTISATION, 100), _noData());
    }

    function test_setDerivativeTerms_revertsForNonOwnerAndAboveCap() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, modelId, stranger));
        vm.prank(stranger);
        models.setDerivativeTerms(modelId, 100);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.DerivativeTermsTooHigh.selector, 9001, 9000));
        vm.prank(baseOwner);
        models.setDerivativeTerms(modelId, 9001);
    }

    function test_lineageViews_revertForMissingModel() public {
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelNotFound.selector, 42));
        models.parentsOf(42);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelNotFound.selector, 42));
        models.datasetsOf(42);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelNotFound.selector, 42));
        models.depthOf(42);
    }

    function testFuzz_registerDerivative_acceptsExactlyWithinCap(uint16 parentShare, uint16 dataShare) public {
        parentShare = uint16(bound(parentShare, 0, 10_000));
        dataShare = uint16(bound(dataShare, 0, 10_000));
        uint256 datasetId = _registerDataset(dataOwner);
        uint256 total = uint256(parentShare) + dataShare;
        if (total > 9000) {
            _expectRegisterRevert(
                abi.encodeWithSelector(ModelRegistry.StackTooLarge.selector, total, 9000),
                _parents(modelId, FINE_TUNE, parentShare),
                _data(datasetId, dataShare)
            );
        } else {
            uint256 id = _registerDerivative(creator, 500, _parents(modelId, FINE_TUNE, parentShare), _data(datasetId, dataShare));
            assertEq(uint256(models.parentsOf(id)[0].shareBps), parentShare);
        }
    }
}

/// @notice DatasetRegistry: registration and its refusals.
contract DatasetRegistryTest is LineageFixture {
    function test_registerDataset_mintsToCallerAndStores() public {
        address owner = makeAddr("dataOwner");
        vm.expectEmit(address(datasets));
        emit DatasetRegistry.DatasetRegistered(1, owner, keccak256("c"), keccak256("m"), "wiki", "ipfs://m");
        vm.prank(owner);
        uint256 id = datasets.registerDataset(keccak256("c"), "wiki", "ipfs://m", keccak256("m"));
        assertEq(id, 1);
        assertEq(datasets.ownerOf(id), owner);
        assertTrue(datasets.exists(id));
        assertFalse(datasets.exists(2));
        DatasetRegistry.Dataset memory d = datasets.getDataset(id);
        assertEq(d.contentHash, keccak256("c"));
        assertEq(d.manifestHash, keccak256("m"));
        assertEq(d.name, "wiki");
        assertEq(datasets.tokenURI(id), "ipfs://m");
        assertEq(datasets.datasetIdOfContent(keccak256("c")), id);
        assertEq(datasets.datasetCount(), 1);
    }

    function test_registerDataset_refusals() public {
        vm.expectRevert(DatasetRegistry.EmptyContentHash.selector);
        datasets.registerDataset(bytes32(0), "wiki", "", bytes32(0));
        vm.expectRevert(DatasetRegistry.EmptyDatasetName.selector);
        datasets.registerDataset(keccak256("c"), "", "", bytes32(0));
        datasets.registerDataset(keccak256("c"), "wiki", "", bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(DatasetRegistry.DatasetAlreadyRegistered.selector, keccak256("c"), 1));
        datasets.registerDataset(keccak256("c"), "wiki2", "", bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(DatasetRegistry.DatasetNotFound.selector, 2));
        datasets.getDataset(2);
    }
}
