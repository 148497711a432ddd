#include "scale_add_pipeline.h"

namespace wsys::tools {

namespace {
constexpr uint32_t kGroupSize = 64;  // scale_add.comp's local_size_x
constexpr uint32_t kPushWords = 3;   // mul, add, n
}  // namespace

VkResult ScaleAddPipeline::create(VkDevice device, const uint32_t* spirv, size_t bytes,
                                  const char** failed_call) {
  const char* call = nullptr;  // the step running, named to the caller if it fails
  auto failed = [&](VkResult r) {
    if (failed_call) *failed_call = call;
    return r;
  };

  VkShaderModuleCreateInfo smci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  smci.codeSize = bytes;
  smci.pCode = spirv;
  call = "vkCreateShaderModule";
  if (VkResult r = vkCreateShaderModule(device, &smci, nullptr, &shader); r != VK_SUCCESS)
    return failed(r);

  VkDescriptorSetLayoutBinding bindings[2] = {};
  for (uint32_t i = 0; i < 2; i++) {
    bindings[i].binding = i;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo lci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  lci.bindingCount = 2;
  lci.pBindings = bindings;
  call = "vkCreateDescriptorSetLayout";
  if (VkResult r = vkCreateDescriptorSetLayout(device, &lci, nullptr, &set_layout); r != VK_SUCCESS)
    return failed(r);

  const VkPushConstantRange pcr{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushWords * sizeof(uint32_t)};
  VkPipelineLayoutCreateInfo plci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  plci.setLayoutCount = 1;
  plci.pSetLayouts = &set_layout;
  plci.pushConstantRangeCount = 1;
  plci.pPushConstantRanges = &pcr;
  call = "vkCreatePipelineLayout";
  if (VkResult r = vkCreatePipelineLayout(device, &plci, nullptr, &layout); r != VK_SUCCESS)
    return failed(r);

  VkComputePipelineCreateInfo cpci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cpci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  cpci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cpci.stage.module = shader;
  cpci.stage.pName = "main";
  cpci.layout = layout;
  call = "vkCreateComputePipelines";
  if (VkResult r = vkCreateComputePipelines(device, VK_NULL_HANDLE, 1, &cpci, nullptr, &pipeline);
      r != VK_SUCCESS)
    return failed(r);
  return VK_SUCCESS;
}

void ScaleAddPipeline::destroy(VkDevice device) {
  // Null handles are valid arguments to every vkDestroy*.
  vkDestroyPipeline(device, pipeline, nullptr);
  vkDestroyPipelineLayout(device, layout, nullptr);
  vkDestroyDescriptorSetLayout(device, set_layout, nullptr);
  vkDestroyShaderModule(device, shader, nullptr);
  pipeline = VK_NULL_HANDLE;
  layout = VK_NULL_HANDLE;
  set_layout = VK_NULL_HANDLE;
  shader = VK_NULL_HANDLE;
}

void ScaleAddPipeline::record(VkCommandBuffer cb, VkDescriptorSet set, uint32_t mul, uint32_t add,
                              uint32_t n) const {
  const uint32_t params[kPushWords] = {mul, add, n};
  vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
  vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, nullptr);
  vkCmdPushConstants(cb, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof params, params);
  vkCmdDispatch(cb, (n + kGroupSize - 1) / kGroupSize, 1, 1);
}

void write_scale_add_buffers(VkDevice device, VkDescriptorSet set, VkBuffer in, VkBuffer out) {
  const VkDescriptorBufferInfo infos[2] = {{in, 0, VK_WHOLE_SIZE}, {out, 0, VK_WHOLE_SIZE}};
  VkWriteDescriptorSet writes[2] = {};
  for (uint32_t i = 0; i < 2; i++) {
    writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    writes[i].dstSet = set;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(device, 2, writes, 0, nullptr);
}

}  // namespace wsys::tools
