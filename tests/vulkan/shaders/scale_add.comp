#version 450
// out[i] = in[i] * mul + add + i, for i < n: every element depends on its
// input and its index, so a wrong, missing or shifted element shows.
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer Input { uint data_in[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Output { uint data_out[]; };
layout(push_constant) uniform Params {
  uint mul;
  uint add;
  uint n;
} params;

void main() {
  uint i = gl_GlobalInvocationID.x;
  if (i < params.n) data_out[i] = data_in[i] * params.mul + params.add + i;
}
